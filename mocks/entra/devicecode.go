package entra

import (
	"encoding/json"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"time"

	"github.com/gorilla/mux"

	"github.com/vbharness/vbharness/mocks/clock"
	"github.com/vbharness/vbharness/mocks/control"
	"github.com/vbharness/vbharness/mocks/secret"
)

// deviceCodeHandler serves POST /{tenant}/oauth2/v2.0/devicecode (entra.md §1).
type deviceCodeHandler struct {
	clk      clock.Clock
	store    *store
	settings *settingsBox
	origin   originRule
	log      *slog.Logger
}

// deviceCodeResponse is the v2 device authorization response in Entra's key order,
// with numeric expires_in and interval.
type deviceCodeResponse struct {
	UserCode        string `json:"user_code"`
	DeviceCode      string `json:"device_code"`
	VerificationURI string `json:"verification_uri"`
	ExpiresIn       int64  `json:"expires_in"`
	Interval        int64  `json:"interval"`
	Message         string `json:"message"`
}

// ServeHTTP validates the tenant, client and scopes (as the token endpoint will) and
// issues a code on the clock.
func (h *deviceCodeHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	now := h.clk.Now()
	set := h.settings.get()
	dir := h.store.directory()
	fail := func(e *oauthError) { writeOAuthError(w, r, now, e) }
	if r.Method != http.MethodPost {
		fail(errPostOnly(r.Method))
		return
	}
	seg := mux.Vars(r)["tenant"]
	tenant, _, e := resolveTenant(dir, seg, "invalid_request")
	if e != nil {
		fail(e)
		return
	}
	form, e := readForm(r)
	if e != nil {
		fail(e)
		return
	}
	clientID := form.Get("client_id")
	if clientID == "" {
		fail(errMissingParam("client_id"))
		return
	}
	app, ok := dir.app(clientID)
	if !ok {
		fail(errUnknownClient(clientID, directoryName(tenant, seg)))
		return
	}
	if _, has := form["scope"]; !has {
		fail(errMissingParam("scope"))
		return
	}
	q, e := parseScopes(form.Get("scope"), dir, tenant, directoryName(tenant, seg))
	if e != nil {
		fail(e)
		return
	}
	if _, e := grantFor(app, q); e != nil {
		fail(e)
		return
	}
	d := &deviceCode{
		deviceCode: newDeviceCode(),
		tenant:     tenant,
		clientID:   app.ClientID,
		scope:      q,
		issued:     now,
		expires:    now.Add(set.life.DeviceCode),
		interval:   set.life.Interval,
		state:      StatePending,
	}
	if wait, ok := h.store.add(d, now); !ok {
		w.Header().Set("Retry-After", strconv.FormatInt(int64((wait+time.Second-1)/time.Second), 10))
		fail(errThrottled())
		return
	}
	uri := h.origin.of(r) + "/devicelogin"
	h.log.Info("device code issued", "user_code", secret.Redact(d.userCode), "client_id", app.ClientID, "tenant", tenantName(tenant))
	writeEntraJSON(w, r, http.StatusOK, newTraceID(), correlationID(r), deviceCodeResponse{
		UserCode:        d.userCode,
		DeviceCode:      d.deviceCode,
		VerificationURI: uri,
		ExpiresIn:       seconds(set.life.DeviceCode),
		Interval:        seconds(set.life.Interval),
		Message:         "To sign in, use a web browser to open the page " + uri + " and enter the code " + d.userCode + " to authenticate.",
	})
}

// directoryName is how AADSTS messages name the directory a request went to.
func directoryName(t *Tenant, seg string) string {
	if t != nil {
		return t.ID
	}
	return seg
}

// formContentType is the only body type Entra's token endpoints read.
const formContentType = "application/x-www-form-urlencoded"

// readForm reads an Entra endpoint's form body. A body of another content type is
// not read at all, as Entra does not, so the request then fails on its first missing
// parameter. A body that is not valid form encoding is AADSTS9002313, a repeated
// parameter AADSTS9000411.
func readForm(r *http.Request) (url.Values, *oauthError) {
	vals := url.Values{}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != formContentType || r.Body == nil {
		return vals, nil
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, control.DefaultMaxBody+1))
	if err != nil || len(body) > control.DefaultMaxBody {
		return nil, errMalformedRequest("invalid_request")
	}
	vals, err = url.ParseQuery(string(body))
	if err != nil {
		return nil, errMalformedRequest("invalid_request")
	}
	var dup []string
	for k, v := range vals {
		if len(v) > 1 {
			dup = append(dup, k)
		}
	}
	if len(dup) > 0 {
		sort.Strings(dup)
		return nil, errDuplicateParam(dup[0])
	}
	return vals, nil
}

// writeJSON writes v as JSON with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"server_error"}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
