package engine

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/vbharness/vbharness/engine/flow"
	"github.com/vbharness/vbharness/mocks/secret"
)

// maxTraceBody is how much of a body an Exchange keeps.
const maxTraceBody = 64 << 10

// observe records one exchange in the trace. It first teaches the scrubber every secret
// the exchange carries (what mocks/secret counts as one: secret-named form, JSON and
// query fields, authorization and cookie headers), then stores a redacted copy: secret
// fields replaced by their markers, and every known secret scrubbed from what is left.
func (r *host) observe(ex *flow.Exchange) {
	r.recordExchange(ex)
	r.learn(ex)
	e := Exchange{
		Method:          ex.Method,
		URL:             r.redactURL(ex.URL),
		RequestHeaders:  r.redactHeaders(ex.RequestHeader),
		RequestBody:     r.redactBody(ex.RequestHeader.Get("Content-Type"), ex.RequestBody),
		Status:          ex.Status,
		ResponseHeaders: r.redactHeaders(ex.ResponseHeader),
		ResponseBody:    r.redactBody(ex.ResponseHeader.Get("Content-Type"), ex.ResponseBody),
		DurationMS:      float64(ex.Duration.Microseconds()) / 1000,
	}
	if ex.Err != nil {
		e.Error = r.scrub.Scrub(ex.Err.Error())
	}
	e.Contract = r.checkContract(ex)
	if r.tl != nil {
		r.tl.exchange(ex, &e, len(r.rec.trace))
	}
	r.rec.trace = append(r.rec.trace, e)
}

// learn adds the exchange's secrets to the scrubber, each with its kind (mocks/secret
// decides what they are and where they are carried).
func (r *host) learn(ex *flow.Exchange) {
	var query url.Values
	if u, err := url.Parse(ex.URL); err == nil {
		query = u.Query()
	}
	r.scrub.LearnExchange(query, ex.RequestHeader, ex.ResponseHeader, ex.RequestBody, ex.ResponseBody)
}

func mediaType(ct string) string {
	mt, _, _ := mime.ParseMediaType(ct)
	return mt
}

func isJSONType(mt string) bool {
	return mt == "application/json" || strings.HasSuffix(mt, "+json")
}

func (r *host) redactHeaders(h http.Header) map[string]string {
	if len(h) == 0 {
		return nil
	}
	out := make(map[string]string, len(h))
	for k, vs := range h {
		out[k] = r.scrub.Scrub(secret.RedactHeader(k, strings.Join(vs, ", ")))
	}
	return out
}

func (r *host) redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.RawQuery == "" {
		return r.scrub.Scrub(raw)
	}
	q := u.Query()
	changed := false
	for k, vs := range q {
		if secret.IsField(k) {
			for i := range vs {
				vs[i] = secret.RedactField(k, vs[i])
			}
			changed = true
		}
	}
	if changed {
		u.RawQuery = q.Encode()
	}
	return r.scrub.Scrub(u.String())
}

// redactBody returns body for the trace: form and JSON secret fields replaced by their
// markers (JSON keeps its key order), known secrets scrubbed, long bodies cut.
func (r *host) redactBody(ct string, body []byte) string {
	if len(body) == 0 {
		return ""
	}
	mt := mediaType(ct)
	s := ""
	switch {
	case mt == "application/x-www-form-urlencoded":
		s = redactForm(string(body))
	case isJSONType(mt) || (mt == "" && json.Valid(body)):
		if red, err := redactJSON(body); err == nil {
			s = red
		} else {
			s = string(body)
		}
	default:
		s = string(body)
	}
	s = r.scrub.Scrub(s)
	if len(s) > maxTraceBody {
		s = s[:maxTraceBody] + fmt.Sprintf("…[%d bytes cut]", len(s)-maxTraceBody)
	}
	return s
}

// redactForm replaces the values of secret fields in a urlencoded body with their
// markers, keeping the field order and the encoding of everything else.
func redactForm(body string) string {
	parts := strings.Split(body, "&")
	for i, p := range parts {
		k, v, ok := strings.Cut(p, "=")
		if !ok {
			continue
		}
		name, err := url.QueryUnescape(k)
		if err != nil || !secret.IsField(name) {
			continue
		}
		val, err := url.QueryUnescape(v)
		if err != nil {
			val = v
		}
		parts[i] = k + "=" + secret.RedactField(name, val) // left unescaped: the trace is read by people
	}
	return strings.Join(parts, "&")
}

// redactJSON re-encodes a JSON document compactly, in its own key order, with every
// value under a secret-named key replaced by its redaction marker.
func redactJSON(body []byte) (string, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var out bytes.Buffer
	if err := redactJSONValue(dec, &out, 0); err != nil {
		return "", err
	}
	if _, err := dec.Token(); err != io.EOF {
		return "", fmt.Errorf("trailing data after JSON value")
	}
	return out.String(), nil
}

// redactJSONValue copies one value; hide is the kind of the secret key it is under, if any.
func redactJSONValue(dec *json.Decoder, out *bytes.Buffer, hide secret.Kind) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			out.WriteByte('{')
			first := true
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return err
				}
				key, _ := kt.(string)
				if !first {
					out.WriteByte(',')
				}
				first = false
				kb, _ := json.Marshal(key)
				out.Write(kb)
				out.WriteByte(':')
				if err := redactJSONValue(dec, out, max(hide, secret.FieldKind(key))); err != nil {
					return err
				}
			}
			if _, err := dec.Token(); err != nil {
				return err
			}
			out.WriteByte('}')
		case '[':
			out.WriteByte('[')
			first := true
			for dec.More() {
				if !first {
					out.WriteByte(',')
				}
				first = false
				if err := redactJSONValue(dec, out, hide); err != nil {
					return err
				}
			}
			if _, err := dec.Token(); err != nil {
				return err
			}
			out.WriteByte(']')
		}
	case string:
		if hide != 0 {
			t = secret.RedactAs(hide, t)
		}
		b, _ := json.Marshal(t)
		out.Write(b)
	case json.Number:
		out.WriteString(t.String())
	case bool:
		if t {
			out.WriteString("true")
		} else {
			out.WriteString("false")
		}
	case nil:
		out.WriteString("null")
	}
	return nil
}
