package flow

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/vbharness/vbharness/mocks/clock"
	"github.com/vbharness/vbharness/mocks/secret"
)

// DefaultMaxBody is the largest response body HTTP.Do reads (10 MiB); longer bodies are
// an error rather than a silent truncation.
const DefaultMaxBody = 10 << 20

// ErrBodyTooLarge marks a response body longer than HTTP.MaxBody.
var ErrBodyTooLarge = errors.New("response body is larger than the limit")

// Exchange is one HTTP round trip as a client made it, unredacted. Observers redact it
// before they keep it anywhere.
type Exchange struct {
	Method         string
	URL            string
	RequestHeader  http.Header
	RequestBody    []byte
	Status         int // 0 when the round trip failed
	ResponseHeader http.Header
	ResponseBody   []byte
	Duration       time.Duration // 0 unless HTTP.Wall is set
	At             time.Time     // when the request was sent, on HTTP.Clock; zero unless it is set
	Err            error
}

// HTTP is the transport every flow client shares: an *http.Client plus the hooks a caller
// uses to trace exchanges and to learn secrets.
type HTTP struct {
	// Client sends the requests; nil means http.DefaultClient. It carries the target's TLS
	// settings or the in-process transport.
	Client *http.Client
	// Wall measures how long exchanges take; nil leaves Exchange.Duration at 0. It must be
	// a real clock: a virtual one would report zero.
	Wall clock.Clock
	// Clock, if set, is the scenario clock: it stamps Exchange.At, so a trace can be laid
	// on the scenario's time line (virtual or real).
	Clock clock.Clock
	// Observe, if set, is called after every round trip, on the caller's goroutine.
	Observe func(*Exchange)
	// Secret, if set, is called with every secret value a client sends or receives (tokens,
	// device and user codes, passwords, assertions), with its kind, before the exchange is
	// observed. mocks/secret decides which fields and headers carry one.
	Secret func(kind secret.Kind, values ...string)
	// Redact, if set, replaces known secrets in text; error messages that quote a body
	// pass it through Redact before shortening it.
	Redact func(string) string
	// MaxBody limits response bodies; 0 means DefaultMaxBody.
	MaxBody int64
	// UserAgent is sent unless a request sets its own; empty sends Go's default.
	UserAgent string
}

// Response is a complete HTTP response: the body is read and the connection released.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
	URL    string
}

// JSON decodes the body into v.
func (r *Response) JSON(v any) error {
	if err := json.Unmarshal(r.Body, v); err != nil {
		return fmt.Errorf("decode %d response from %s: %w", r.Status, r.URL, err)
	}
	return nil
}

// Request is one request for HTTP.Do.
type Request struct {
	Method string
	URL    string
	Header http.Header
	Body   []byte
}

// Form returns a POST request carrying form as application/x-www-form-urlencoded.
func Form(rawURL string, form url.Values) Request {
	h := http.Header{}
	h.Set("Content-Type", "application/x-www-form-urlencoded")
	h.Set("Accept", "application/json")
	return Request{Method: http.MethodPost, URL: rawURL, Header: h, Body: []byte(form.Encode())}
}

func (h *HTTP) secret(kind secret.Kind, values ...string) {
	if h != nil && h.Secret != nil {
		h.Secret(kind, values...)
	}
}

// secretFields reports the secret fields of a form (secret.FieldKind).
func (h *HTTP) secretFields(form url.Values) {
	for k, vs := range form {
		if kind := secret.FieldKind(k); kind != 0 {
			h.secret(kind, vs...)
		}
	}
}

func (h *HTTP) now() time.Time {
	if h.Wall == nil {
		return time.Time{}
	}
	return h.Wall.Now()
}

// Do sends req and reads the whole response. Transport failures and context ends are
// returned as errors (wrapping ctx.Err() when the context ended); any HTTP status is a
// Response.
func (h *HTTP) Do(ctx context.Context, req Request) (*Response, error) {
	if h == nil {
		h = &HTTP{}
	}
	client := h.Client
	if client == nil {
		client = http.DefaultClient
	}
	method := req.Method
	if method == "" {
		method = http.MethodGet
	}
	var body io.Reader
	if req.Body != nil {
		body = bytes.NewReader(req.Body)
	}
	hreq, err := http.NewRequestWithContext(ctx, method, req.URL, body)
	if err != nil {
		return nil, fmt.Errorf("build %s request: %w", method, err)
	}
	for k, v := range req.Header {
		hreq.Header[k] = append([]string(nil), v...)
	}
	if h.UserAgent != "" && hreq.Header.Get("User-Agent") == "" {
		hreq.Header.Set("User-Agent", h.UserAgent)
	}
	if kind, v, ok := secret.InHeader("Authorization", hreq.Header.Get("Authorization")); ok {
		h.secret(kind, v)
	}
	ex := &Exchange{Method: method, URL: hreq.URL.String(), RequestHeader: hreq.Header, RequestBody: req.Body}
	if h.Clock != nil {
		ex.At = h.Clock.Now()
	}
	start := h.now()
	resp, err := client.Do(hreq)
	var out *Response
	if err == nil {
		limit := h.MaxBody
		if limit <= 0 {
			limit = DefaultMaxBody
		}
		var b []byte
		b, err = io.ReadAll(io.LimitReader(resp.Body, limit+1))
		resp.Body.Close()
		ex.Status, ex.ResponseHeader, ex.ResponseBody = resp.StatusCode, resp.Header, b
		if err == nil && int64(len(b)) > limit {
			err = fmt.Errorf("%s %s: %w (%d bytes)", method, req.URL, ErrBodyTooLarge, limit)
		}
		if err == nil {
			out = &Response{Status: resp.StatusCode, Header: resp.Header, Body: b, URL: ex.URL}
		}
	}
	if err != nil && ctx.Err() != nil {
		err = fmt.Errorf("%s %s: %w", method, redactURL(req.URL), ctx.Err())
	} else if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = fmt.Errorf("%s %s: %w", method, redactURL(req.URL), uerr.Err)
		}
	}
	if h.Wall != nil {
		ex.Duration = h.now().Sub(start)
	}
	ex.Err = err
	if h.Observe != nil {
		h.Observe(ex)
	}
	return out, err
}

// redactURL drops the query from a URL for error messages: queries can carry codes.
func redactURL(raw string) string {
	if i := strings.IndexByte(raw, '?'); i >= 0 {
		return raw[:i] + "?…"
	}
	return raw
}

// Seconds is a JSON number of seconds that also accepts a numeric string, as Entra's v1
// endpoints and some Veeam builds send ("3599").
type Seconds int64

// UnmarshalJSON implements json.Unmarshaler.
func (s *Seconds) UnmarshalJSON(b []byte) error {
	str := strings.Trim(string(b), `"`)
	if str == "" || str == "null" {
		*s = 0
		return nil
	}
	var n json.Number = json.Number(str)
	i, err := n.Int64()
	if err != nil {
		f, ferr := n.Float64()
		if ferr != nil {
			return fmt.Errorf("seconds: %q is not a number", str)
		}
		i = int64(f)
	}
	*s = Seconds(i)
	return nil
}

// Duration converts s to a time.Duration.
func (s Seconds) Duration() time.Duration { return time.Duration(s) * time.Second }
