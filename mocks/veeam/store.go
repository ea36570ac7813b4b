package veeam

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// dataStore is the server's mutable copy of its fixtures, with indexes for lookups.
// Readers take the read lock; job actions, explores and added organizations take the
// write lock. Getters return copies, so handlers never touch shared structs.
type dataStore struct {
	mu  sync.RWMutex
	f   Fixtures
	org map[string]int // id → index in f.Organizations
	job map[string]int
	js  map[string]int
	rep map[string]int
	prx map[string]int
	rs  map[string]int
}

func newDataStore(f Fixtures) *dataStore {
	d := &dataStore{}
	d.reset(f)
	return d
}

// reset replaces the data with a deep copy of f.
func (d *dataStore) reset(f Fixtures) {
	f = f.clone()
	d.mu.Lock()
	defer d.mu.Unlock()
	d.f = f
	d.org = index(f.Organizations, func(o Organization) string { return o.ID })
	d.job = index(f.Jobs, func(j Job) string { return j.ID })
	d.js = index(f.JobSessions, func(s JobSession) string { return s.ID })
	d.rep = index(f.Repositories, func(r Repository) string { return r.ID })
	d.prx = index(f.Proxies, func(p Proxy) string { return p.ID })
	d.rs = index(f.RestoreSessions, func(s RestoreSession) string { return s.ID })
}

func index[T any](xs []T, id func(T) string) map[string]int {
	m := make(map[string]int, len(xs))
	for i, x := range xs {
		m[id(x)] = i
	}
	return m
}

func (d *dataStore) serviceInstance() ServiceInstance {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.f.ServiceInstance
}

func (d *dataStore) restorePortal() RestorePortal {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.f.RestorePortal
}

func (d *dataStore) restorePortalApp() string { return d.restorePortal().ApplicationID }

// orgs returns the organizations that pass keep, in fixture order.
func (d *dataStore) orgs(keep func(*Organization) bool) []Organization {
	d.mu.RLock()
	defer d.mu.RUnlock()
	out := make([]Organization, 0, len(d.f.Organizations))
	for i := range d.f.Organizations {
		if keep == nil || keep(&d.f.Organizations[i]) {
			out = append(out, d.f.Organizations[i])
		}
	}
	return out
}

func (d *dataStore) orgByID(id string) (Organization, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	i, ok := d.org[id]
	if !ok {
		return Organization{}, false
	}
	return d.f.Organizations[i], true
}

func (d *dataStore) findOrg(match func(*Organization) bool) (Organization, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	for i := range d.f.Organizations {
		if match(&d.f.Organizations[i]) {
			return d.f.Organizations[i], true
		}
	}
	return Organization{}, false
}

// orgByName finds an organization by its *.onmicrosoft.com name, case-insensitively.
func (d *dataStore) orgByName(name string) (Organization, bool) {
	return d.findOrg(func(o *Organization) bool { return strings.EqualFold(o.Name, name) })
}

// orgByAccount finds the organization an account was used to add.
func (d *dataStore) orgByAccount(account string) (Organization, bool) {
	return d.findOrg(func(o *Organization) bool { return o.Account != "" && strings.EqualFold(o.Account, account) })
}

// orgByMSID finds an organization by its Entra tenant id.
func (d *dataStore) orgByMSID(msid string) (Organization, bool) {
	return d.findOrg(func(o *Organization) bool { return o.MSID != "" && strings.EqualFold(o.MSID, msid) })
}

// errDuplicate marks an organization that is already added.
var errDuplicate = errors.New("already exists")

// addOrg adds a normalised organization, refusing a duplicate name, id or msid.
func (d *dataStore) addOrg(o Organization) (Organization, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, x := range d.f.Organizations {
		switch {
		case strings.EqualFold(x.Name, o.Name):
			return Organization{}, fmt.Errorf("organization %s %w", o.Name, errDuplicate)
		case x.ID == o.ID:
			return Organization{}, fmt.Errorf("an organization with id %s %w", o.ID, errDuplicate)
		case o.MSID != "" && x.MSID == o.MSID:
			return Organization{}, fmt.Errorf("organization %s with msid %s %w", x.Name, o.MSID, errDuplicate)
		}
	}
	d.org[o.ID] = len(d.f.Organizations)
	d.f.Organizations = append(d.f.Organizations, o)
	return o, nil
}

func (d *dataStore) jobs(keep func(*Job) bool) []Job {
	d.mu.RLock()
	defer d.mu.RUnlock()
	out := make([]Job, 0, len(d.f.Jobs))
	for i := range d.f.Jobs {
		if keep == nil || keep(&d.f.Jobs[i]) {
			out = append(out, d.f.Jobs[i])
		}
	}
	return out
}

func (d *dataStore) jobByID(id string) (Job, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	i, ok := d.job[id]
	if !ok {
		return Job{}, false
	}
	return d.f.Jobs[i], true
}

// jobAction changes a job under the write lock. fn may return an *apiError to refuse.
func (d *dataStore) jobAction(id string, fn func(j *Job, s *[]JobSession) *apiError) *apiError {
	d.mu.Lock()
	defer d.mu.Unlock()
	i, ok := d.job[id]
	if !ok {
		return notFound("Job", id)
	}
	before := len(d.f.JobSessions)
	if e := fn(&d.f.Jobs[i], &d.f.JobSessions); e != nil {
		return e
	}
	for k := before; k < len(d.f.JobSessions); k++ {
		d.js[d.f.JobSessions[k].ID] = k
	}
	return nil
}

// jobSessions returns the sessions that pass keep, newest first [I: the order a
// monitoring client reading "the last N sessions" expects].
func (d *dataStore) jobSessions(keep func(*JobSession) bool) []JobSession {
	d.mu.RLock()
	out := make([]JobSession, 0, len(d.f.JobSessions))
	for i := range d.f.JobSessions {
		if keep == nil || keep(&d.f.JobSessions[i]) {
			out = append(out, d.f.JobSessions[i])
		}
	}
	d.mu.RUnlock()
	slices.SortStableFunc(out, func(a, b JobSession) int { return b.CreationTime.Compare(a.CreationTime) })
	return out
}

func (d *dataStore) jobSessionByID(id string) (JobSession, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	i, ok := d.js[id]
	if !ok {
		return JobSession{}, false
	}
	return d.f.JobSessions[i], true
}

func (d *dataStore) repositories(keep func(*Repository) bool) []Repository {
	d.mu.RLock()
	defer d.mu.RUnlock()
	out := make([]Repository, 0, len(d.f.Repositories))
	for i := range d.f.Repositories {
		if keep == nil || keep(&d.f.Repositories[i]) {
			out = append(out, d.f.Repositories[i])
		}
	}
	return out
}

func (d *dataStore) repositoryByID(id string) (Repository, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	i, ok := d.rep[id]
	if !ok {
		return Repository{}, false
	}
	return d.f.Repositories[i], true
}

func (d *dataStore) proxies() []Proxy {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return slices.Clone(d.f.Proxies)
}

func (d *dataStore) proxyByID(id string) (Proxy, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	i, ok := d.prx[id]
	if !ok {
		return Proxy{}, false
	}
	return d.f.Proxies[i], true
}

func (d *dataStore) restoreSessions(keep func(*RestoreSession) bool) []RestoreSession {
	d.mu.RLock()
	defer d.mu.RUnlock()
	out := make([]RestoreSession, 0, len(d.f.RestoreSessions))
	for i := range d.f.RestoreSessions {
		if keep == nil || keep(&d.f.RestoreSessions[i]) {
			out = append(out, d.f.RestoreSessions[i])
		}
	}
	return out
}

func (d *dataStore) restoreSessionByID(id string) (RestoreSession, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	i, ok := d.rs[id]
	if !ok {
		return RestoreSession{}, false
	}
	return d.f.RestoreSessions[i], true
}

func (d *dataStore) addRestoreSession(s RestoreSession) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.rs[s.ID] = len(d.f.RestoreSessions)
	d.f.RestoreSessions = append(d.f.RestoreSessions, s)
}

// stopRestoreSession stops a working session (stopping a stopped one changes nothing [I]).
func (d *dataStore) stopRestoreSession(id string, now time.Time) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	i, ok := d.rs[id]
	if !ok {
		return false
	}
	s := &d.f.RestoreSessions[i]
	if s.State != "Stopped" {
		s.State, s.EndTime = "Stopped", &now
		s.ETag++
	}
	return true
}
