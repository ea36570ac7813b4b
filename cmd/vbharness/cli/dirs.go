package cli

import (
	"errors"
	"path/filepath"
	"runtime"
)

// userConfigDir is os.UserConfigDir computed from the invocation's environment rather
// than the process's, so tests can point it at a temporary folder.
func userConfigDir(env map[string]string) (string, error) {
	switch runtime.GOOS {
	case "windows":
		if d := env["AppData"]; d != "" {
			return d, nil
		}
		if d := env["APPDATA"]; d != "" {
			return d, nil
		}
		return "", errors.New("%AppData% is not set")
	case "darwin", "ios":
		if h := env["HOME"]; h != "" {
			return filepath.Join(h, "Library", "Application Support"), nil
		}
		return "", errors.New("$HOME is not set")
	default:
		if d := env["XDG_CONFIG_HOME"]; d != "" && filepath.IsAbs(d) {
			return d, nil
		}
		if h := env["HOME"]; h != "" {
			return filepath.Join(h, ".config"), nil
		}
		return "", errors.New("neither $XDG_CONFIG_HOME nor $HOME is set")
	}
}
