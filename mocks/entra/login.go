package entra

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"html/template"
	"log/slog"
	"net/http"
	"strings"

	"github.com/vbharness/vbharness/mocks/clock"
	"github.com/vbharness/vbharness/mocks/secret"
)

// The device login page: a server-rendered form a person completes in a browser,
// standing in for https://microsoft.com/devicelogin. Steps: enter the code (a wrong
// code shows AADSTS70018, an expired one AADSTS70019), pick or type the account (a
// password is asked for when the directory gives the user one), see the app and the
// permissions, approve or decline, see the outcome. Every form carries a CSRF token
// bound to a cookie; the consent form also carries a ticket that proves the account
// step passed.

//go:embed login.html
var loginHTML string

// loginTemplate is parsed once, at package init, never per request.
var loginTemplate = template.Must(template.New("devicelogin").Parse(loginHTML))

// csrfCookie is the cookie the CSRF token is bound to.
const csrfCookie = "vbh_csrf"

// loginHandler serves GET and POST /devicelogin.
type loginHandler struct {
	clk     clock.Clock
	store   *store
	csrfKey []byte // HMAC key of CSRF tokens and consent tickets
	log     *slog.Logger
}

// loginPage is the template's data.
type loginPage struct {
	Title       string
	Step        string // code, account, consent, outcome or error
	CSRF        string
	UserCode    string
	Error       string
	AppName     string
	Accounts    []accountView
	UPN         string
	Permissions []string
	Ticket      string
	Outcome     string
	Detail      string
}

// Page messages. The AADSTS codes are the ones Entra shows in the browser (entra.md §2).
const (
	msgBadCode     = "AADSTS70018: Invalid verification code. That code didn't work. Check the code and try again."
	msgExpiredCode = "AADSTS70019: The code you entered has expired. Get a new code from the device you're trying to sign in to and try again."
	msgUsedCode    = "AADSTS90120: This code has already been used to sign in or was declined. Get a new code from the device you're trying to sign in to and try again."
	msgNoAccount   = "AADSTS50034: The user account does not exist in this directory. Check the account name, or pick one of the listed accounts."
	msgBadPassword = "AADSTS50126: Error validating credentials due to invalid username or password."
	msgCSRF        = "Your session expired or the form was not sent by this page (CSRF check failed). Start again."
)

func (h *loginHandler) get(w http.ResponseWriter, r *http.Request) {
	token := h.csrfToken(w, r)
	h.render(w, http.StatusOK, loginPage{Step: "code", CSRF: token, UserCode: strings.ToUpper(r.URL.Query().Get("otc"))})
}

func (h *loginHandler) post(w http.ResponseWriter, r *http.Request) {
	now := h.clk.Now()
	if err := r.ParseForm(); err != nil {
		h.render(w, http.StatusBadRequest, loginPage{Step: "error", Error: "The form could not be read. Start again."})
		return
	}
	cookie, ok := h.checkCSRF(r)
	if !ok {
		h.render(w, http.StatusForbidden, loginPage{Step: "error", Error: msgCSRF})
		return
	}
	token := h.sign("csrf", cookie)
	code := strings.ToUpper(strings.TrimSpace(r.PostForm.Get("user_code")))
	page := loginPage{CSRF: token, UserCode: code}
	d, found := h.store.lookup(code, now)
	if bad := codeProblem(d, found); bad != "" {
		page.Step, page.Error = "code", bad
		h.render(w, http.StatusOK, page)
		return
	}
	app, ok := h.store.directory().app(d.clientID)
	if !ok { // the directory was reset under this page
		page.Step, page.Error = "code", msgBadCode
		h.render(w, http.StatusOK, page)
		return
	}
	page.AppName = app.DisplayName
	page.Accounts = h.store.directory().accounts(d.tenant)

	switch r.PostForm.Get("step") {
	case "code":
		page.Step = "account"
		h.render(w, http.StatusOK, page)
	case "account":
		upn := r.PostForm.Get("account")
		if upn == "" {
			upn = strings.TrimSpace(r.PostForm.Get("other_upn"))
		}
		_, u, ok := h.store.directory().findUser(d.tenant, upn)
		page.Step, page.UPN = "account", upn
		switch {
		case !ok:
			page.Error = msgNoAccount
		case u.Password != "" && !hmac.Equal([]byte(r.PostForm.Get("password")), []byte(u.Password)):
			page.Error = msgBadPassword
		default:
			page.Step, page.UPN = "consent", u.UPN
			page.Ticket = h.sign("ticket", code+"|"+strings.ToLower(u.UPN)+"|"+cookie)
			page.Permissions = permissionsFor(app, d.scope)
		}
		h.render(w, http.StatusOK, page)
	case "consent":
		upn := r.PostForm.Get("upn")
		if !hmac.Equal([]byte(r.PostForm.Get("ticket")), []byte(h.sign("ticket", code+"|"+strings.ToLower(upn)+"|"+cookie))) {
			h.render(w, http.StatusForbidden, loginPage{Step: "error", Error: msgCSRF})
			return
		}
		page.Step = "outcome"
		if r.PostForm.Get("action") == "approve" {
			if _, err := h.store.approve(code, upn, now); err != nil {
				page.Step, page.Error = "code", msgUsedCode
				h.render(w, http.StatusOK, page)
				return
			}
			page.Outcome = "You have signed in to the " + app.DisplayName + " application on your device"
			page.Detail = "You may now close this window."
		} else {
			if _, err := h.store.deny(code, now); err != nil {
				page.Step, page.Error = "code", msgUsedCode
				h.render(w, http.StatusOK, page)
				return
			}
			page.Outcome = "You declined to sign in to " + app.DisplayName
			page.Detail = "The application on your device will not get access. You may now close this window."
		}
		h.log.Info("device login", "user_code", secret.Redact(code), "user", upn, "outcome", r.PostForm.Get("action"))
		h.render(w, http.StatusOK, page)
	default:
		page.Step = "code"
		h.render(w, http.StatusOK, page)
	}
}

// codeProblem says why a user code cannot be used on the page, or "".
func codeProblem(d deviceCode, found bool) string {
	switch {
	case !found:
		return msgBadCode
	case d.state == StateExpired:
		return msgExpiredCode
	case d.state != StatePending:
		return msgUsedCode
	}
	return ""
}

// permissionsFor lists what the consent step shows: the permissions the grant gives.
func permissionsFor(a *App, q scopeRequest) []string {
	g, e := grantFor(a, q)
	if e != nil {
		return strings.Fields(q.raw)
	}
	out := strings.Fields(g.scp)
	if q.has("offline_access") {
		out = append(out, "offline_access (maintain access to data you have given it access to)")
	}
	return out
}

// csrfToken returns the form token for the request's CSRF cookie, setting a new
// cookie when there is none.
func (h *loginHandler) csrfToken(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(csrfCookie); err == nil && len(c.Value) >= 32 && len(c.Value) <= 64 {
		return h.sign("csrf", c.Value)
	}
	v := randomToken(32)
	http.SetCookie(w, &http.Cookie{
		Name: csrfCookie, Value: v, Path: "/devicelogin", HttpOnly: true,
		Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode,
	})
	return h.sign("csrf", v)
}

// checkCSRF verifies the form's token against the cookie and returns the cookie value.
func (h *loginHandler) checkCSRF(r *http.Request) (string, bool) {
	c, err := r.Cookie(csrfCookie)
	if err != nil || c.Value == "" {
		return "", false
	}
	return c.Value, hmac.Equal([]byte(r.PostForm.Get("csrf")), []byte(h.sign("csrf", c.Value)))
}

// sign is HMAC-SHA256 under the server's page key, base64url.
func (h *loginHandler) sign(purpose, v string) string {
	m := hmac.New(sha256.New, h.csrfKey)
	m.Write([]byte(purpose + "|" + v))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (h *loginHandler) render(w http.ResponseWriter, status int, p loginPage) {
	if p.Title == "" {
		p.Title = "Sign in to your account"
	}
	var buf bytes.Buffer
	if err := loginTemplate.Execute(&buf, p); err != nil {
		h.log.Error("render device login page", "err", err)
		http.Error(w, "the login page could not be rendered", http.StatusInternalServerError)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Cache-Control", "no-store, no-cache")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}
