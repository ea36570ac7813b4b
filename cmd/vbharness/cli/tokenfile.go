package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// EnvTokenFile names the default token file when --token-file is not given.
const EnvTokenFile = "VBHARNESS_TOKEN_FILE"

// savedTokens is the token file: the Veeam token pair of each target signed in with
// `vbharness login`. It holds live credentials, so it is written with mode 0600.
type savedTokens struct {
	Targets map[string]*savedToken `json:"targets"`
}

type savedToken struct {
	VeeamURL     string    `json:"veeam_url"`
	Organization string    `json:"organization"`
	EntraUser    string    `json:"entra_user,omitempty"`
	VeeamUser    string    `json:"veeam_user,omitempty"`
	TokenType    string    `json:"token_type"`
	AccessToken  string    `json:"access_token"`
	RefreshToken string    `json:"refresh_token"`
	IssuedAt     time.Time `json:"issued_at"`  // on the target's clock
	ExpiresAt    time.Time `json:"expires_at"` // on the target's clock
}

// tokenFilePath returns --token-file, $VBHARNESS_TOKEN_FILE or the default in the user's
// config folder.
func (a *app) tokenFilePath(flag string) (string, error) {
	p := flag
	if p == "" {
		p = a.env[EnvTokenFile]
	}
	if p == "" {
		dir, err := userConfigDir(a.env)
		if err != nil {
			return "", usage("no default token file (%v); pass --token-file", err)
		}
		return filepath.Join(dir, "vbharness", "tokens.json"), nil
	}
	if !filepath.IsAbs(p) {
		p = filepath.Join(a.dir, p)
	}
	return p, nil
}

// readTokens reads the token file; a missing file is an empty one.
func readTokens(path string) (*savedTokens, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &savedTokens{Targets: map[string]*savedToken{}}, nil
	}
	if err != nil {
		return nil, err
	}
	var t savedTokens
	if err := json.Unmarshal(data, &t); err != nil {
		return nil, fmt.Errorf("%s is not a vbharness token file: %v", path, err)
	}
	if t.Targets == nil {
		t.Targets = map[string]*savedToken{}
	}
	return &t, nil
}

// writeTokens replaces the token file atomically: a temporary file with mode 0600 in
// the same folder, synced, then renamed over the old one, so a reader never sees half a
// file and the tokens are never readable by others, not even for a moment.
func writeTokens(path string, t *savedTokens) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	data, err := json.MarshalIndent(t, "", "  ")
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".tokens-*.json") // created with mode 0600
	if err != nil {
		return err
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err := f.Chmod(0o600); err != nil && !errors.Is(err, errors.ErrUnsupported) {
		return err
	}
	if _, err := f.Write(append(data, '\n')); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	ok = true
	return nil
}
