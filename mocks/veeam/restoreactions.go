package veeam

import (
	"archive/zip"
	"bytes"
	"cmp"
	bin "encoding/binary"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/vbharness/vbharness/mocks/veeam/spec"
)

// Restore actions: the restore, copy, send, export and save operations under a restore
// session's organization. Each appends a RestoreSessionEvent (…/Events): a restore or
// copy is Running and ends on the mock's clock after Settings.SessionDuration with
// Settings.SessionResult (clocked.go), answering RESTAsyncRestoreResponse (or the
// operator's response) with the session's id; a send (204) or an export or save (a
// small real file) is done at once. …/Statistics counts the events' items; Stop cancels
// the events still running. Which operation is which is read from the document
// (restoreActionOf), so no operation is listed by hand.

// restoreActionOf decides whether an operation is a restore action, and which handler
// answers it: an operation under a restore session's organization that answers a file
// (export, save), nothing (send), or a sessionId (restore, copy, operator restore).
func restoreActionOf(o *operation) handler {
	op := o.op
	if !o.mounted || op.Method != http.MethodPost {
		return nil
	}
	switch {
	case op.Media == "application/octet-stream":
		return (*Server).restoreFile
	case op.Response == nil && op.Status == http.StatusNoContent:
		return (*Server).restoreSend
	case op.Response != nil && op.Response.Value.Properties["sessionId"] != nil && len(op.Response.Value.Properties) == 1:
		return (*Server).restoreAsync
	}
	return nil
}

// restoreEvent appends an event of the given type to the request's restore session:
// Running from now when running is set, else already ended with Success. It returns the
// event's path.
func (s *Server) restoreEvent(rq *request, typ string, running bool, as *signIn) string {
	sid := strings.ToLower(rq.param("restoreSessionId"))
	c := collectionOf("/v8/RestoreSessions/{restoreSessionId}/Events")
	list := c.listPath([]string{sid})
	// The order (and the id made from it) and the insert are one step: without a state
	// file requests run at once, and two restores could take one order, the second event
	// overwriting the first.
	s.eventsMu.Lock()
	defer s.eventsMu.Unlock()
	order := len(s.world.list(list)) + 1
	id := spec.UUID(strings.ToLower(list) + "/" + strconv.Itoa(order))
	path := c.itemPath([]string{sid}, id)
	name, itemType := s.actionSubject(rq)
	o := c.generate(path, id, []string{sid}, rq.now)
	title := typ + " " + name
	status, end := "Running", any(nil)
	if !running {
		status, end = "Success", rq.now
	}
	verb := map[string]string{"Restore": "Restoring", "Export": "Exporting", "Save": "Saving", "Send": "Sending"}[typ]
	message := verb + " " + name + "."
	if as != nil {
		// The real server logs the account a restore used; this wording is the mock's [A].
		message += " Signed in to Microsoft 365 as " + cmp.Or(as.UPN, as.OID, "(unknown)") + " with a device code."
	}
	for k, v := range map[string]any{"type": typ, "status": status, "startTime": rq.now, "endTime": end, "duration": "00:00:00",
		"title": title, "message": message, "order": order, "itemName": name, "itemType": itemType,
		"itemSizeBytes": 24576, "source": rq.canonicalPath(), "target": "", "organizationId": s.sessionOrg(sid)} {
		o.setValue(k, v)
	}
	if it, err := newItem(path, id, o.bytes(), nil); err == nil {
		s.world.put(it)
	}
	if running {
		s.startSession(restoreWork(path), rq.now)
	}
	return path
}

// sessionOrg is a restore session's organization id.
func (s *Server) sessionOrg(sid string) string {
	if it, ok := s.world.get("/v8/RestoreSessions/" + sid); ok {
		o, _ := it.hidden.(restoreOwner)
		return o.OrganizationID
	}
	return ""
}

// actionSubject names what an action acts on: the item the path names last (its
// name, subject, displayName or email), else the collection; and its kind.
func (s *Server) actionSubject(rq *request) (string, string) {
	path := rq.canonicalPath()
	for path != "" {
		i := strings.LastIndexByte(path, '/')
		if i < 0 {
			break
		}
		path = path[:i]
		it, ok := s.world.get(path)
		if !ok || it.list == "/v8/restoresessions" {
			continue
		}
		for _, f := range []string{"subject", "name", "displayName", "email", "title"} {
			if v := it.obj.str(f); v != "" {
				return v, kindOf(it.list)
			}
		}
	}
	return "selected items", "Items"
}

// checkActionItems checks the items an action on a whole content list names in its body
// (POST …/organization/mailboxes/restore with {"mailboxes":[{"id":…}]}): each must be one
// the session shows. One of the organization's that an operator's scope leaves out is
// 403 ResourceAccessDenied, as its explore would be; an id the session does not hold is
// 404 ResourceNotFound [A: the real server's answers are not in the record]. An action
// on one item (…/mailboxes/{id}/restore) had its path checked by the route.
func (s *Server) checkActionItems(rq *request) *apiError {
	path := rq.canonicalPath()
	list := path[:strings.LastIndexByte(path, '/')]
	if !strings.HasPrefix(strings.ToLower(list), contentScope) || len(rq.body) == 0 {
		return nil
	}
	body, err := parseObject(rq.body)
	if err != nil {
		return nil // the document's validation answered a body that is no object
	}
	kind := kindOf(list)
	for _, m := range body {
		var elems []json.RawMessage
		if json.Unmarshal(m.val, &elems) != nil {
			continue
		}
		for _, el := range elems {
			var id string
			if json.Unmarshal(el, &id) != nil {
				o, _ := parseObject(el)
				id = o.str("id")
			}
			if id == "" {
				continue
			}
			switch s.world.contentCheck(list, id) {
			case "scope":
				return accessDenied("%s %s is outside the scope of your restore operator role.", kind, id)
			case "unknown":
				return notFound(kind, id)
			}
		}
	}
	return nil
}

// prepareAction runs the checks every restore action shares before it acts: the items
// its body names (checkActionItems), then the sign-in its userCode names
// (restoreSignIn). It returns who signed in, nil for an action without a userCode.
func (s *Server) prepareAction(rq *request) (*signIn, *apiError) {
	if e := s.checkActionItems(rq); e != nil {
		return nil, e
	}
	return s.restoreSignIn(rq)
}

// restoreSignIn redeems the userCode of a restore action's body (issue 14 item 5): the
// 57 restore operations of the document that take one (RESTRestoreToOriginalLocation
// and the rest, modern-app-only.md §4.4 [C SPEC8]) come here, through prepareAction.
// The code must be one restoreDeviceCode issued for this restore session and not yet
// used; the server then polls Entra's token endpoint with its device code
// (settleDeviceLogin, as POST /v8/Organizations does), and the restore runs as the
// account that signed in, which its event names. Every refusal is 400 RESTExceptionInfo
// with a message that says what to do, Entra's AADSTS text where Entra gave one
// (modern-app-only.md §4.6) [A: VB365's texts are not public]:
//   - unknown, issued for another restore session or operation, or already used;
//   - the person has not signed in yet (Entra's AADSTS70016 text), the code expired
//     (AADSTS70020) or the sign-in was declined (Entra's declined text);
//   - a restore to the original location signed in with an account of another tenant
//     than the session's organization's (a code asked for with targetOrganizationName).
//     400, not 403 [A]: the caller's own token may act on the session (403 is what the
//     route answers a caller who may not); what is wrong is a parameter of the request,
//     as with every other userCode refusal. A restoreTo or copyTo may sign in to the
//     target organization the code was asked for.
//
// A body without a userCode (userName and userPassword, or an application's
// certificate) is taken as before: the mock checks no restore credentials.
func (s *Server) restoreSignIn(rq *request) (*signIn, *apiError) {
	if s.mut.IgnoreRestoreUserCode || len(rq.body) == 0 {
		return nil, nil
	}
	code, _ := bodyObject(rq)["userCode"].(string)
	if strings.TrimSpace(code) == "" {
		return nil, nil
	}
	sid := strings.ToLower(rq.param("restoreSessionId"))
	ask := "request one for this restore session with POST /v8/RestoreSessions/" + sid + "/organization/restoreDeviceCode"
	l, ok := s.logins.get(code)
	switch {
	case !ok:
		return nil, badParam("The device code %q is unknown: %s.", clipped(code), ask)
	case l.purpose != purposeRestore || l.scope != sid:
		return nil, badParam("The device code %s was not issued for restore session %s: %s.", l.userCode, sid, ask)
	case l.redeemed:
		return nil, badParam("The device code %s was already used for a restore: %s.", l.userCode, ask)
	}
	l, e := s.settleDeviceLogin(rq, code)
	switch {
	case e != nil:
		return nil, e
	case !l.signedIn:
		return nil, badParam("The sign-in with the device code %s is not complete: open %s, enter the code, sign in, then try again.%s Microsoft Entra ID: %s",
			l.userCode, cmp.Or(l.verificationURI, "the verification page"), l.pollAdvice(rq.now), cmp.Or(l.pending, "authorization is pending."))
	}
	if toOriginalLocation(rq) {
		if org, _ := s.organization(s.sessionOrg(sid)); !sameTenant(org, l.user) {
			return nil, badParam("The account %s that signed in with the device code %s is not of the organization %s: a restore to the original location needs a sign-in to that organization; %s without targetOrganizationName.",
				cmp.Or(l.user.UPN, l.user.OID, "(unknown)"), l.userCode, org.Name, ask)
		}
	}
	if !s.logins.redeem(code) {
		return nil, badParam("The device code %s was already used for a restore: %s.", l.userCode, ask)
	}
	return &l.user, nil
}

// toOriginalLocation reports whether a restore action restores to where the items came
// from: its path ends in /restore (restoreTo and copyTo name another place).
func toOriginalLocation(rq *request) bool {
	t := rq.route.template
	return strings.EqualFold(t[strings.LastIndexByte(t, '/')+1:], "restore")
}

// sameTenant reports whether u signed in to o's Entra tenant: its msid, else its name
// as the domain of u's UPN [A: an organization added without msid].
func sameTenant(o Organization, u signIn) bool {
	if o.MSID != "" {
		return strings.EqualFold(o.MSID, u.TenantID)
	}
	_, domain, _ := strings.Cut(u.UPN, "@")
	return o.Name != "" && strings.EqualFold(domain, o.Name)
}

// restoreAsync answers a restore, copy or operator restore: a Running event, and the
// restore session's id (RESTAsyncRestoreResponse, RESTOperatorRestore…Response).
func (s *Server) restoreAsync(rq *request) (int, any, *apiError) {
	as, e := s.prepareAction(rq)
	if e != nil {
		return 0, nil, e
	}
	s.restoreEvent(rq, "Restore", true, as)
	return rq.route.op.Status, map[string]string{"sessionId": strings.ToLower(rq.param("restoreSessionId"))}, nil
}

// restoreSend answers a send: a Success event, 204.
func (s *Server) restoreSend(rq *request) (int, any, *apiError) {
	as, e := s.prepareAction(rq)
	if e != nil {
		return 0, nil, e
	}
	s.restoreEvent(rq, "Send", false, as)
	return http.StatusNoContent, nil, nil
}

// restoreFile answers an export or a save: a Success event and a small real file of
// the kind the action makes, in the documented media type with a file name: a PST
// (exportToPst), an MSG (one mail item's save) or a ZIP (the rest) [A: the real
// server's file names are not in the record].
func (s *Server) restoreFile(rq *request) (int, any, *apiError) {
	as, e := s.prepareAction(rq)
	if e != nil {
		return 0, nil, e
	}
	id := rq.route.op.ID
	typ := "Save"
	if strings.Contains(strings.ToLower(id), "export") {
		typ = "Export"
	}
	s.restoreEvent(rq, typ, false, as)
	name, _ := s.actionSubject(rq)
	base := fileName(name)
	switch {
	case strings.Contains(strings.ToLower(id), "pst"):
		return http.StatusOK, binary{media: "application/octet-stream", name: base + ".pst", data: pstFile()}, nil
	case id == "ExchangeItem_SaveItemAction":
		return http.StatusOK, binary{media: "application/octet-stream", name: base + ".msg", data: msgFile()}, nil
	}
	return http.StatusOK, binary{media: "application/octet-stream", name: base + ".zip", data: zipFile(name, rq.canonicalPath(), rq.now)}, nil
}

// fileName makes a name safe for Content-Disposition.
func fileName(name string) string {
	out := strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e || strings.ContainsRune(`"\/:*?<>|;`, r) {
			return '_'
		}
		return r
	}, name)
	if out == "" {
		return "export"
	}
	return out
}

// pstFile is an empty Outlook data file's header: the "!BDN" magic, the "SM" client
// magic and version 23 (Unicode PST), [MS-PST] 2.2.2.6, padded to 512 bytes.
func pstFile() []byte {
	b := make([]byte, 512)
	copy(b, "!BDN")
	copy(b[8:], "SM")
	bin.LittleEndian.PutUint16(b[10:], 23) // wVer: Unicode
	bin.LittleEndian.PutUint16(b[12:], 19) // wVerClient
	b[14], b[15] = 1, 1                    // bPlatformCreate, bPlatformAccess
	return b
}

// msgFile is an Outlook item's container header: a compound file ([MS-CFB] 2.2) with
// its signature, version 3 and 512-byte sectors, padded to one sector.
func msgFile() []byte {
	b := make([]byte, 512)
	copy(b, []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1})
	bin.LittleEndian.PutUint16(b[24:], 0x3E)   // minor version
	bin.LittleEndian.PutUint16(b[26:], 3)      // major version
	bin.LittleEndian.PutUint16(b[28:], 0xFFFE) // byte order
	bin.LittleEndian.PutUint16(b[30:], 9)      // sector shift: 512 bytes
	bin.LittleEndian.PutUint16(b[32:], 6)      // mini sector shift
	return b
}

// zipFile is a ZIP archive holding one text file that says what was saved.
func zipFile(name, source string, at time.Time) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	// The entry is dated on the mock's clock: a zero time is DOS date 0, which unzip
	// tools read as month 0.
	w, err := zw.CreateHeader(&zip.FileHeader{Name: fileName(name) + ".txt", Method: zip.Deflate, Modified: at.UTC()})
	if err == nil {
		_, _ = fmt.Fprintf(w, "vbharness mock: %s, saved from %s\n", name, source)
	}
	_ = zw.Close()
	return buf.Bytes()
}

// restoreWork is a restore event's run on the clock: its status, its end and duration.
func restoreWork(path string) work {
	return work{name: "restore", path: path, title: "Restore", kind: &restoreEventKind}
}

var restoreEventKind = sessionKind{
	progress: func(*object, int) {},
	finish: func(o *object, result string, end time.Time) {
		o.setValue("status", result)
		o.setValue("endTime", end)
		if start := parseTime(o.str("startTime")); start != nil {
			o.setValue("duration", durationText(end.Sub(*start)))
		}
		o.setValue("message", strings.Replace(o.str("message"), "Restoring", "Restored", 1))
	},
	stop: func(o *object, end time.Time) {
		o.setValue("status", "Cancelled")
		o.setValue("endTime", end)
	},
}

// durationText is a .NET TimeSpan as JSON writes it: hh:mm:ss.
func durationText(d time.Duration) string {
	d = d.Round(time.Second)
	return fmt.Sprintf("%02d:%02d:%02d", int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60)
}

// restoreStatistics is GET /v8/RestoreSessions/{id}/Statistics: the session's events'
// items counted (RESTRestoreSessionStatistics): an event that ended with Success or
// Warning restored its item, Failed failed it, Cancelled or Skipped skipped it.
func (s *Server) restoreStatistics(rq *request) (int, any, *apiError) {
	var st struct {
		Total    int      `json:"totalItemsCount"`
		Restored int      `json:"restoredItemsCount"`
		Failed   int      `json:"failedItemsCount"`
		Skipped  int      `json:"skippedItemsCount"`
		Warnings []string `json:"warnings"`
		Errors   []string `json:"errors"`
		Items    []any    `json:"items"`
	}
	st.Warnings, st.Errors, st.Items = []string{}, []string{}, []any{}
	for _, ev := range s.world.list("/v8/RestoreSessions/" + rq.param("restoreSessionId") + "/Events") {
		if t := ev.obj.str("type"); t != "Restore" && t != "Export" && t != "Save" && t != "Send" {
			continue // the seeded fixture events of other kinds
		}
		st.Total++
		switch ev.obj.str("status") {
		case "Success":
			st.Restored++
		case "Warning":
			st.Restored++
			st.Warnings = append(st.Warnings, ev.obj.str("title")+" finished with a warning.")
		case "Failed":
			st.Failed++
			st.Errors = append(st.Errors, ev.obj.str("title")+" failed.")
		case "Cancelled", "Skipped":
			st.Skipped++
		}
	}
	return http.StatusOK, st, nil
}

// stopRestoreEvents cancels a session's events still running (Stop).
func (s *Server) stopRestoreEvents(sid string, now time.Time) {
	for _, ev := range s.world.list("/v8/RestoreSessions/" + sid + "/Events") {
		if ev.obj.str("status") == "Running" {
			s.stopSession(restoreWork(ev.path), now)
		}
	}
}
