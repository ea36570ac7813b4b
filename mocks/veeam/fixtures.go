package veeam

import (
	"crypto/sha1"
	"errors"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.yaml.in/yaml/v4"

	"github.com/vbharness/vbharness/mocks/clock"
	"github.com/vbharness/vbharness/mocks/configfile"
	"github.com/vbharness/vbharness/mocks/veeam/spec"
)

// Fixtures is the data the mock serves: organizations, the backup infrastructure, jobs
// and sessions. Field names follow Veeam's JSON (SPEC8) so a fixture file reads like API
// output; a few fields are the mock's own and never appear on the wire (marked below).
// Files are JSON or YAML with the same names (LoadFixtures).
type Fixtures struct {
	// ServiceInstance is GET /v8/ServiceInstance.
	ServiceInstance ServiceInstance `json:"serviceInstance" yaml:"serviceInstance"`
	// RestorePortal feeds GET /v8/RestorePortalSettings and the operator grant.
	RestorePortal RestorePortal `json:"restorePortal" yaml:"restorePortal"`
	// Organizations are the Microsoft 365 organizations added to the server.
	Organizations []Organization `json:"organizations" yaml:"organizations"`
	// Proxies are the backup proxies (GET /v8/Proxies).
	Proxies []Proxy `json:"proxies" yaml:"proxies"`
	// Repositories are the backup repositories (GET /v8/BackupRepositories).
	Repositories []Repository `json:"repositories" yaml:"repositories"`
	// Jobs are the backup jobs (GET /v8/Jobs).
	Jobs []Job `json:"jobs" yaml:"jobs"`
	// JobSessions are past and running job sessions (GET /v8/JobSessions).
	JobSessions []JobSession `json:"jobSessions" yaml:"jobSessions"`
	// RestoreSessions are restore sessions (GET /v8/RestoreSessions).
	RestoreSessions []RestoreSession `json:"restoreSessions" yaml:"restoreSessions"`
	// Users are the organizations' users (directory.go).
	Users []User `json:"users,omitempty" yaml:"users,omitempty"`
	// Groups are the organizations' groups and their members.
	Groups []Group `json:"groups,omitempty" yaml:"groups,omitempty"`
	// Sites are the organizations' SharePoint sites.
	Sites []Site `json:"sites,omitempty" yaml:"sites,omitempty"`
	// Teams are the organizations' teams, with channels and tabs.
	Teams []Team `json:"teams,omitempty" yaml:"teams,omitempty"`
	// RbacRoles are the restore operator roles.
	RbacRoles []RbacRole `json:"rbacRoles,omitempty" yaml:"rbacRoles,omitempty"`
	// License is the installed license (GET /v8/License).
	License License `json:"license,omitzero" yaml:"license,omitempty"`
	// JobOutcomes is how given jobs' runs end, by job or copy job id: "Success",
	// "Warning" or "Failed". A job not named ends with Settings.SessionResult.
	JobOutcomes map[string]string `json:"jobOutcomes,omitempty" yaml:"jobOutcomes,omitempty"`
}

// ServiceInstance is RESTServiceInstance.
type ServiceInstance struct {
	// InstallationID is the server's installation GUID.
	InstallationID string `json:"installationId" yaml:"installationId"`
	// Version is the build number; default DefaultVersion.
	Version string `json:"version" yaml:"version"`
}

// DefaultVersion is the build the seed document applies to ("Page content applies to
// build 8.0.5.20").
const DefaultVersion = "8.0.5.20"

// RestorePortal holds the Restore Portal settings (RESTRestorePortalSettings, less the
// fields the mock derives: msalAuthorityUri comes from the authority, isEnabled from
// Settings.OperatorAuthentication).
type RestorePortal struct {
	// ApplicationID is the Entra application restore operators sign in to; operator
	// assertions must be issued for it (aud api://<id> or <id>).
	ApplicationID string `json:"applicationId" yaml:"applicationId"`
	// RestorePortalURI is the portal's web address.
	RestorePortalURI string `json:"restorePortalUri" yaml:"restorePortalUri"`
}

// Organization is a Microsoft 365 organization added to the server. The wire form is
// RestOrganizationComposed (rendered by the API); ModernAppOnly, Account and Password are
// how it was added, which decides how its tenants may sign in.
type Organization struct {
	// ID is Veeam's id of the organization.
	ID string `json:"id" yaml:"id"`
	// Name is the *.onmicrosoft.com name, the client_id of a jwt-bearer login.
	Name string `json:"name" yaml:"name"`
	// OfficeName defaults to Name.
	OfficeName string `json:"officeName,omitempty" yaml:"officeName,omitempty"`
	// MSID is the Entra tenant id; assertions must carry it as tid.
	MSID string `json:"msid,omitempty" yaml:"msid,omitempty"`
	// Type is Office365 (default), OnPremises or Hybrid.
	Type string `json:"type,omitempty" yaml:"type,omitempty"`
	// Region is Worldwide (default), Germany, China, USDefence or USGovernment.
	Region string `json:"region,omitempty" yaml:"region,omitempty"`
	// ModernAppOnly is true when the organization was added with modern app-only
	// authentication; only such organizations accept jwt-bearer logins (mock field; on the
	// wire it is exchangeOnlineSettings.useApplicationOnlyAuth).
	ModernAppOnly bool `json:"modernAppOnly" yaml:"modernAppOnly"`
	// ApplicationID is the Entra application the organization was added with.
	ApplicationID string `json:"applicationId,omitempty" yaml:"applicationId,omitempty"`
	// Account is the organization account used to add it (the tenant's password login).
	Account string `json:"account,omitempty" yaml:"account,omitempty"`
	// Password is that account's password (mock field, never served). Empty means the
	// account cannot sign in with grant_type=password, as for modern app-only
	// organizations, which hold no password.
	Password string `json:"password,omitempty" yaml:"password,omitempty"`
	// IsExchangeOnline and the following flags are the services the organization has.
	IsExchangeOnline bool `json:"isExchangeOnline" yaml:"isExchangeOnline"`
	// IsSharePointOnline: see IsExchangeOnline.
	IsSharePointOnline bool `json:"isSharePointOnline" yaml:"isSharePointOnline"`
	// IsTeamsOnline: see IsExchangeOnline.
	IsTeamsOnline bool `json:"isTeamsOnline" yaml:"isTeamsOnline"`
	// IsTeamsChatsOnline: see IsExchangeOnline.
	IsTeamsChatsOnline bool `json:"isTeamsChatsOnline" yaml:"isTeamsChatsOnline"`
	// IsBackedUp and the backup times are served only with extendedView=true (SPEC8).
	IsBackedUp bool `json:"isBackedup" yaml:"isBackedup"`
	// FirstBackupTime is the first backup's time, if any.
	FirstBackupTime *time.Time `json:"firstBackuptime,omitempty" yaml:"firstBackuptime,omitempty"`
	// LastBackupTime is the last backup's time, if any.
	LastBackupTime *time.Time `json:"lastBackuptime,omitempty" yaml:"lastBackuptime,omitempty"`
	// BackedUpOrganizationID is the organization's id in the backup.
	BackedUpOrganizationID string `json:"backedUpOrganizationId,omitempty" yaml:"backedUpOrganizationId,omitempty"`
}

// Proxy is RESTProxy, less _links.
type Proxy struct {
	// ID is the proxy's id.
	ID string `json:"id" yaml:"id"`
	// HostName is the proxy's host name.
	HostName string `json:"hostName" yaml:"hostName"`
	// FQDN is the proxy's fully qualified name.
	FQDN string `json:"fqdn" yaml:"fqdn"`
	// Port is the proxy's port.
	Port int `json:"port" yaml:"port"`
	// Type is Local, Domain or Workgroup.
	Type string `json:"type" yaml:"type"`
	// OperatingSystem is Windows or Linux.
	OperatingSystem string `json:"operatingSystem" yaml:"operatingSystem"`
	// Status is Online or Offline.
	Status string `json:"status" yaml:"status"`
	// MaintenanceModeState is Disabled, Enabling or Enabled.
	MaintenanceModeState string `json:"maintenanceModeState" yaml:"maintenanceModeState"`
	// CPUUsagePercent is the proxy's CPU load.
	CPUUsagePercent float64 `json:"cpuUsagePercent" yaml:"cpuUsagePercent"`
	// MemoryUsagePercent is the proxy's memory load.
	MemoryUsagePercent float64 `json:"memoryUsagePercent" yaml:"memoryUsagePercent"`
	// Version is the proxy's build.
	Version string `json:"version" yaml:"version"`
	// ServiceAccount is the account the proxy service runs as.
	ServiceAccount string `json:"serviceAccount" yaml:"serviceAccount"`
	// Role lists Unknown, Orchestrator, Scheduler, ApplianceProcessor or Processor.
	Role []string `json:"role" yaml:"role"`
	// UseInternetProxy tells whether the proxy goes out through an internet proxy.
	UseInternetProxy bool `json:"useInternetProxy" yaml:"useInternetProxy"`
	// EnableNetworkThrottling tells whether throttling is on.
	EnableNetworkThrottling bool `json:"enableNetworkThrottling" yaml:"enableNetworkThrottling"`
}

// Repository is RESTBackupRepository (local repositories), less _links.
type Repository struct {
	// ID is the repository's id.
	ID string `json:"id" yaml:"id"`
	// Name is the repository's name.
	Name string `json:"name" yaml:"name"`
	// Path is the repository's folder on its proxy.
	Path string `json:"path" yaml:"path"`
	// ProxyID is the proxy that owns the repository.
	ProxyID string `json:"proxyId,omitempty" yaml:"proxyId,omitempty"`
	// RetentionType is ItemLevel or SnapshotBased.
	RetentionType string `json:"retentionType" yaml:"retentionType"`
	// RetentionPeriodType is Daily, Monthly or Yearly.
	RetentionPeriodType string `json:"retentionPeriodType" yaml:"retentionPeriodType"`
	// YearlyRetentionPeriod is Year1 … Years25 or Keep.
	YearlyRetentionPeriod string `json:"yearlyRetentionPeriod,omitempty" yaml:"yearlyRetentionPeriod,omitempty"`
	// RetentionFrequencyType is Daily or Monthly.
	RetentionFrequencyType string `json:"retentionFrequencyType" yaml:"retentionFrequencyType"`
	// DailyTime is when retention runs, "hh:mm:ss".
	DailyTime string `json:"dailyTime,omitempty" yaml:"dailyTime,omitempty"`
	// DailyType is the days retention runs on (Everyday, Workdays, …).
	DailyType string `json:"dailyType,omitempty" yaml:"dailyType,omitempty"`
	// CapacityBytes is the repository's size.
	CapacityBytes int64 `json:"capacityBytes" yaml:"capacityBytes"`
	// FreeSpaceBytes is the repository's free space.
	FreeSpaceBytes int64 `json:"freeSpaceBytes" yaml:"freeSpaceBytes"`
	// IsLongTerm marks a long-term (archive) repository.
	IsLongTerm bool `json:"isLongTerm" yaml:"isLongTerm"`
	// IsOutdated and the following flags are the repository's state.
	IsOutdated bool `json:"isOutdated" yaml:"isOutdated"`
	// IsOutOfSync: see IsOutdated.
	IsOutOfSync bool `json:"isOutOfSync" yaml:"isOutOfSync"`
	// IsIndexed: see IsOutdated.
	IsIndexed bool `json:"isIndexed" yaml:"isIndexed"`
	// IsMigrationLocked: see IsOutdated.
	IsMigrationLocked bool `json:"isMigrationLocked" yaml:"isMigrationLocked"`
	// IsOutOfOrder: see IsOutdated.
	IsOutOfOrder bool `json:"isOutOfOrder" yaml:"isOutOfOrder"`
	// OutOfOrderReason is why, or null.
	OutOfOrderReason *string `json:"outOfOrderReason" yaml:"outOfOrderReason"`
	// ObjectStorageEncryptionEnabled is false for local repositories.
	ObjectStorageEncryptionEnabled bool `json:"objectStorageEncryptionEnabled" yaml:"objectStorageEncryptionEnabled"`
}

// SchedulePolicy is RESTJobSchedulePolicy.
type SchedulePolicy struct {
	// ScheduleEnabled tells whether the job runs on a schedule.
	ScheduleEnabled bool `json:"scheduleEnabled" yaml:"scheduleEnabled"`
	// BackupWindowEnabled tells whether a backup window applies.
	BackupWindowEnabled bool `json:"backupWindowEnabled" yaml:"backupWindowEnabled"`
	// Type is Periodically, Daily or ManualOnly.
	Type string `json:"type" yaml:"type"`
	// PeriodicallyEvery is Minutes5 … Hours12, for Periodically.
	PeriodicallyEvery string `json:"periodicallyEvery,omitempty" yaml:"periodicallyEvery,omitempty"`
	// DailyType is Everyday, Workdays, Weekends or a weekday, for Daily.
	DailyType string `json:"dailyType,omitempty" yaml:"dailyType,omitempty"`
	// DailyTime is "hh:mm:ss", for Daily.
	DailyTime string `json:"dailyTime,omitempty" yaml:"dailyTime,omitempty"`
	// RetryEnabled tells whether failed runs are retried.
	RetryEnabled bool `json:"retryEnabled" yaml:"retryEnabled"`
	// RetryNumber is how many times.
	RetryNumber int `json:"retryNumber" yaml:"retryNumber"`
	// RetryWaitInterval is the wait between retries, in minutes.
	RetryWaitInterval int `json:"retryWaitInterval" yaml:"retryWaitInterval"`
}

// Job is RESTJob, less _links.
type Job struct {
	// ID is the job's id.
	ID string `json:"id" yaml:"id"`
	// Name is the job's name.
	Name string `json:"name" yaml:"name"`
	// BackupType is EntireOrganization or SelectedItems.
	BackupType string `json:"backupType" yaml:"backupType"`
	// OrganizationID is the organization the job backs up.
	OrganizationID string `json:"organizationId" yaml:"organizationId"`
	// RepositoryID is the repository the job writes to.
	RepositoryID string `json:"repositoryId" yaml:"repositoryId"`
	// SchedulePolicy is when the job runs.
	SchedulePolicy SchedulePolicy `json:"schedulePolicy" yaml:"schedulePolicy"`
	// LastRun is the last start, or null.
	LastRun *time.Time `json:"lastRun" yaml:"lastRun"`
	// NextRun is the next scheduled start, or null.
	NextRun *time.Time `json:"nextRun" yaml:"nextRun"`
	// LastBackup is the last successful backup, or null.
	LastBackup *time.Time `json:"lastBackup" yaml:"lastBackup"`
	// IsEnabled tells whether the job is enabled (POST …/enable, …/disable).
	IsEnabled bool `json:"isEnabled" yaml:"isEnabled"`
	// LastStatus is Stopped, Running, Success, Failed, Warning, NotConfigured,
	// Disconnected or Queued.
	LastStatus string `json:"lastStatus" yaml:"lastStatus"`
	// ETag counts the job's changes.
	ETag int64 `json:"eTag" yaml:"eTag"`
}

// JobStatistics is RESTJobStatistics.
type JobStatistics struct {
	// ProcessingRateBytesPS and the following are the session's throughput figures.
	ProcessingRateBytesPS int64 `json:"processingRateBytesPS" yaml:"processingRateBytesPS"`
	// ProcessingRateItemsPS: see ProcessingRateBytesPS.
	ProcessingRateItemsPS int64 `json:"processingRateItemsPS" yaml:"processingRateItemsPS"`
	// ReadRateBytesPS: see ProcessingRateBytesPS.
	ReadRateBytesPS int64 `json:"readRateBytesPS" yaml:"readRateBytesPS"`
	// WriteRateBytesPS: see ProcessingRateBytesPS.
	WriteRateBytesPS int64 `json:"writeRateBytesPS" yaml:"writeRateBytesPS"`
	// TransferredDataBytes: see ProcessingRateBytesPS.
	TransferredDataBytes int64 `json:"transferredDataBytes" yaml:"transferredDataBytes"`
	// ProcessedObjects: see ProcessingRateBytesPS.
	ProcessedObjects int64 `json:"processedObjects" yaml:"processedObjects"`
	// Bottleneck is NA, Detecting, Source or Target.
	Bottleneck string `json:"bottleneck" yaml:"bottleneck"`
}

// JobSession is RESTJobSession, less _links.
type JobSession struct {
	// ID is the session's id.
	ID string `json:"id" yaml:"id"`
	// JobID is the job the session ran.
	JobID string `json:"jobId" yaml:"jobId"`
	// RepositoryID is the job's repository.
	RepositoryID string `json:"repositoryId" yaml:"repositoryId"`
	// CreationTime is when the session started.
	CreationTime time.Time `json:"creationTime" yaml:"creationTime"`
	// EndTime is when it ended, or null while running.
	EndTime *time.Time `json:"endTime" yaml:"endTime"`
	// RetryCount is how many retries ran.
	RetryCount int `json:"retryCount" yaml:"retryCount"`
	// Progress is the percentage done.
	Progress int `json:"progress" yaml:"progress"`
	// JobType is Backup or Copy.
	JobType string `json:"jobType" yaml:"jobType"`
	// JobSessionConfigType is Full or Incremental.
	JobSessionConfigType string `json:"jobSessionConfigType" yaml:"jobSessionConfigType"`
	// Status is the session's result, as Job.LastStatus.
	Status string `json:"status" yaml:"status"`
	// Details is a free-text summary, or null.
	Details *string `json:"details" yaml:"details"`
	// Statistics are the session's figures.
	Statistics JobStatistics `json:"statistics" yaml:"statistics"`
	// ETag counts the session's changes.
	ETag int64 `json:"eTag" yaml:"eTag"`
}

// RestoreSession is a restore session. The wire form is RESTRestoreSession, where the
// organization appears by name.
type RestoreSession struct {
	// ID is the session's id.
	ID string `json:"id" yaml:"id"`
	// Name is the session's display name.
	Name string `json:"name" yaml:"name"`
	// OrganizationID is the organization explored (mock field; the wire shows its name).
	OrganizationID string `json:"organizationId" yaml:"organizationId"`
	// Tenant is true when a tenant of the organization started the session, which makes
	// it one of that tenant's "own" sessions (mock field).
	Tenant bool `json:"tenant" yaml:"tenant"`
	// Type is Vex, Veod, Vesp or Vet.
	Type string `json:"type" yaml:"type"`
	// CreationTime is when the session started.
	CreationTime time.Time `json:"creationTime" yaml:"creationTime"`
	// EndTime is when it was stopped, or null.
	EndTime *time.Time `json:"endTime" yaml:"endTime"`
	// State is Working or Stopped.
	State string `json:"state" yaml:"state"`
	// Result is Success, Warning or Failed.
	Result string `json:"result" yaml:"result"`
	// InitiatedBy is the user who started it.
	InitiatedBy string `json:"initiatedBy" yaml:"initiatedBy"`
	// Details is a free-text summary.
	Details string `json:"details" yaml:"details"`
	// ClientHost is the host the session was started from.
	ClientHost string `json:"clientHost" yaml:"clientHost"`
	// Reason is the reason given for the restore.
	Reason string `json:"reason" yaml:"reason"`
	// ETag counts the session's changes.
	ETag int64 `json:"eTag" yaml:"eTag"`
}

// ErrInvalidFixtures marks every problem LoadFixtures and Fixtures.Validate report.
var ErrInvalidFixtures = errors.New("invalid fixtures")

// fixtureProblem is one validation failure at a path such as "jobs[3].organizationId".
type fixtureProblem struct {
	path string
	msg  string
}

func (p *fixtureProblem) Error() string { return p.path + ": " + p.msg }
func (p *fixtureProblem) Unwrap() error { return ErrInvalidFixtures }

// LoadFixtures reads fixtures from a JSON or YAML file (by extension; otherwise JSON if
// the file starts with '{'). Unknown fields are refused. Errors name the file and, where
// the problem has one, the line: "fixtures.yaml:12: jobs[3].organizationId: …".
func LoadFixtures(path string) (Fixtures, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Fixtures{}, fmt.Errorf("load fixtures: %w", err)
	}
	return parseFixtures(path, data)
}

func parseFixtures(path string, data []byte) (Fixtures, error) {
	var f Fixtures
	if _, err := configfile.Decode(path, data, &f); err != nil {
		// "fixtures.yaml:12:5: unknown key …; did you mean …?", and errors.Is(err, ErrInvalidFixtures).
		return Fixtures{}, configfile.WithKind(err, ErrInvalidFixtures)
	}
	if err := f.Validate(); err != nil {
		var root yaml.Node
		_ = yaml.Unmarshal(data, &root) // JSON is YAML: one locator serves both
		var msgs []error
		for _, e := range unjoin(err) {
			var p *fixtureProblem
			if errors.As(e, &p) {
				if line := nodeLine(&root, p.path); line > 0 {
					msgs = append(msgs, fmt.Errorf("%s:%d: %w", path, line, e))
					continue
				}
			}
			msgs = append(msgs, fmt.Errorf("%s: %w", path, e))
		}
		return Fixtures{}, errors.Join(msgs...)
	}
	return f.normalized(), nil
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// nodeLine finds the line of a path like "jobs[3].organizationId" in a parsed document,
// falling back to the nearest ancestor that exists; 0 if none.
func nodeLine(root *yaml.Node, path string) int {
	n := root
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	line := 0
	for _, part := range strings.Split(path, ".") {
		name, idx := part, -1
		if i := strings.IndexByte(part, '['); i >= 0 && strings.HasSuffix(part, "]") {
			name = part[:i]
			if v, err := strconv.Atoi(part[i+1 : len(part)-1]); err == nil {
				idx = v
			}
		}
		next := mapValue(n, name)
		if next == nil {
			return line
		}
		n, line = next, next.Line
		if idx >= 0 {
			if n.Kind != yaml.SequenceNode || idx >= len(n.Content) {
				return line
			}
			n = n.Content[idx]
			line = n.Line
		}
	}
	return line
}

func mapValue(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			if n.Content[i+1].Kind == yaml.ScalarNode {
				return &yaml.Node{Kind: yaml.ScalarNode, Line: n.Content[i].Line, Value: n.Content[i+1].Value}
			}
			v := *n.Content[i+1]
			if v.Line == 0 {
				v.Line = n.Content[i].Line
			}
			return &v
		}
	}
	return nil
}

// Enumerations from SPEC8 that fixtures are checked against.
var (
	enumOrgType       = []string{"Office365", "OnPremises", "Hybrid"}
	enumRegion        = []string{"Worldwide", "Germany", "China", "USDefence", "USGovernment"}
	enumJobStatus     = []string{"Stopped", "Running", "Success", "Failed", "Warning", "NotConfigured", "Disconnected", "Queued"}
	enumBackupType    = []string{"EntireOrganization", "SelectedItems"}
	enumScheduleType  = []string{"Periodically", "Daily", "ManualOnly"}
	enumJobType       = []string{"Backup", "Copy"}
	enumConfigType    = []string{"Full", "Incremental"}
	enumRestoreType   = []string{"Vex", "Veod", "Vesp", "Vet"}
	enumRestoreState  = []string{"Working", "Stopped"}
	enumRestoreResult = []string{"Success", "Warning", "Failed"}
)

func inEnum(v string, enum []string) bool {
	for _, e := range enum {
		if v == e {
			return true
		}
	}
	return false
}

// Validate checks ids, references and enumerations. Every problem wraps
// ErrInvalidFixtures and names its path, e.g. "jobs[3].organizationId".
func (f Fixtures) Validate() error {
	var errs []error
	bad := func(path, format string, args ...any) {
		errs = append(errs, &fixtureProblem{path: path, msg: fmt.Sprintf(format, args...)})
	}
	ids := map[string]map[string]bool{}
	checkID := func(kind, path, id string) {
		if _, ok := parseGUID(id); !ok {
			bad(path+".id", "%q is not a GUID", id)
			return
		}
		if ids[kind] == nil {
			ids[kind] = map[string]bool{}
		}
		key := strings.ToLower(id)
		if ids[kind][key] {
			bad(path+".id", "%s id %s appears twice", kind, id)
		}
		ids[kind][key] = true
	}
	has := func(kind, id string) bool { return ids[kind][strings.ToLower(id)] }
	enum := func(path, v string, e []string, optional bool) {
		if (v != "" || !optional) && !inEnum(v, e) {
			bad(path, "%q is not one of %s", v, strings.Join(e, ", "))
		}
	}
	if f.ServiceInstance.InstallationID != "" {
		if _, ok := parseGUID(f.ServiceInstance.InstallationID); !ok {
			bad("serviceInstance.installationId", "%q is not a GUID", f.ServiceInstance.InstallationID)
		}
	}
	if id := f.RestorePortal.ApplicationID; id != "" {
		if _, ok := parseGUID(id); !ok {
			bad("restorePortal.applicationId", "%q is not a GUID", id)
		}
	}
	names := map[string]bool{}
	for i, o := range f.Organizations {
		p := fmt.Sprintf("organizations[%d]", i)
		checkID("organization", p, o.ID)
		if o.Name == "" {
			bad(p+".name", "an organization needs a name such as abc.onmicrosoft.com")
		} else if names[strings.ToLower(o.Name)] {
			bad(p+".name", "organization %s appears twice", o.Name)
		}
		names[strings.ToLower(o.Name)] = true
		if o.MSID != "" {
			if _, ok := parseGUID(o.MSID); !ok {
				bad(p+".msid", "%q is not a GUID (the Entra tenant id)", o.MSID)
			}
		} else if o.ModernAppOnly {
			bad(p+".msid", "an organization added with modern app-only authentication needs its Entra tenant id")
		}
		enum(p+".type", o.Type, enumOrgType, true)
		enum(p+".region", o.Region, enumRegion, true)
	}
	for i, x := range f.Proxies {
		checkID("proxy", fmt.Sprintf("proxies[%d]", i), x.ID)
	}
	for i, x := range f.Repositories {
		p := fmt.Sprintf("repositories[%d]", i)
		checkID("repository", p, x.ID)
		if x.ProxyID != "" && !has("proxy", x.ProxyID) {
			bad(p+".proxyId", "no proxy has id %s", x.ProxyID)
		}
	}
	for i, j := range f.Jobs {
		p := fmt.Sprintf("jobs[%d]", i)
		checkID("job", p, j.ID)
		if !has("organization", j.OrganizationID) {
			bad(p+".organizationId", "no organization has id %q", j.OrganizationID)
		}
		if !has("repository", j.RepositoryID) {
			bad(p+".repositoryId", "no repository has id %q", j.RepositoryID)
		}
		enum(p+".backupType", j.BackupType, enumBackupType, false)
		enum(p+".lastStatus", j.LastStatus, enumJobStatus, false)
		enum(p+".schedulePolicy.type", j.SchedulePolicy.Type, enumScheduleType, false)
	}
	for id, r := range f.JobOutcomes {
		enum(fmt.Sprintf("jobOutcomes[%s]", id), r, sessionResults, false)
	}
	for i, s := range f.JobSessions {
		p := fmt.Sprintf("jobSessions[%d]", i)
		checkID("job session", p, s.ID)
		if !has("job", s.JobID) {
			bad(p+".jobId", "no job has id %q", s.JobID)
		}
		enum(p+".status", s.Status, enumJobStatus, false)
		enum(p+".jobType", s.JobType, enumJobType, false)
		enum(p+".jobSessionConfigType", s.JobSessionConfigType, enumConfigType, false)
	}
	for i, s := range f.RestoreSessions {
		p := fmt.Sprintf("restoreSessions[%d]", i)
		checkID("restore session", p, s.ID)
		if !has("organization", s.OrganizationID) {
			bad(p+".organizationId", "no organization has id %q", s.OrganizationID)
		}
		enum(p+".type", s.Type, enumRestoreType, false)
		enum(p+".state", s.State, enumRestoreState, false)
		enum(p+".result", s.Result, enumRestoreResult, false)
	}
	f.validateDirectory(bad, checkID, has)
	return errors.Join(errs...)
}

// normalized lower-cases ids and fills defaults, so lookups can compare strings.
func (f Fixtures) normalized() Fixtures {
	f = f.clone()
	low := strings.ToLower
	if f.ServiceInstance.Version == "" {
		f.ServiceInstance.Version = DefaultVersion
	}
	f.ServiceInstance.InstallationID = low(f.ServiceInstance.InstallationID)
	f.RestorePortal.ApplicationID = low(f.RestorePortal.ApplicationID)
	for i := range f.Organizations {
		o := &f.Organizations[i]
		o.ID, o.MSID = low(o.ID), low(o.MSID)
		if o.OfficeName == "" {
			o.OfficeName = o.Name
		}
		if o.Type == "" {
			o.Type = "Office365"
		}
		if o.Region == "" {
			o.Region = "Worldwide"
		}
	}
	for i := range f.Proxies {
		f.Proxies[i].ID = low(f.Proxies[i].ID)
	}
	for i := range f.Repositories {
		r := &f.Repositories[i]
		r.ID, r.ProxyID = low(r.ID), low(r.ProxyID)
	}
	for i := range f.Jobs {
		j := &f.Jobs[i]
		j.ID, j.OrganizationID, j.RepositoryID = low(j.ID), low(j.OrganizationID), low(j.RepositoryID)
	}
	for i := range f.JobSessions {
		s := &f.JobSessions[i]
		s.ID, s.JobID, s.RepositoryID = low(s.ID), low(s.JobID), low(s.RepositoryID)
	}
	for i := range f.RestoreSessions {
		s := &f.RestoreSessions[i]
		s.ID, s.OrganizationID = low(s.ID), low(s.OrganizationID)
	}
	f.normalizeDirectory()
	return f
}

// clone returns a deep copy (the store mutates its copy; Reset restores the original):
// every slice and pointer is copied, so two stacks never share a value.
// TestFixturesCloneSharesNothing walks the types by reflection, so a pointer or slice
// field added without a line here fails it.
func (f Fixtures) clone() Fixtures {
	out := f
	out.Organizations = slices.Clone(f.Organizations)
	for i := range out.Organizations {
		o := &out.Organizations[i]
		o.FirstBackupTime, o.LastBackupTime = clonePtr(o.FirstBackupTime), clonePtr(o.LastBackupTime)
	}
	out.Proxies = slices.Clone(f.Proxies)
	for i := range out.Proxies {
		out.Proxies[i].Role = slices.Clone(out.Proxies[i].Role)
	}
	out.Repositories = slices.Clone(f.Repositories)
	for i := range out.Repositories {
		out.Repositories[i].OutOfOrderReason = clonePtr(out.Repositories[i].OutOfOrderReason)
	}
	out.Jobs = slices.Clone(f.Jobs)
	for i := range out.Jobs {
		j := &out.Jobs[i]
		j.LastRun, j.NextRun, j.LastBackup = clonePtr(j.LastRun), clonePtr(j.NextRun), clonePtr(j.LastBackup)
	}
	out.JobSessions = slices.Clone(f.JobSessions)
	for i := range out.JobSessions {
		js := &out.JobSessions[i]
		js.EndTime, js.Details = clonePtr(js.EndTime), clonePtr(js.Details)
	}
	out.RestoreSessions = slices.Clone(f.RestoreSessions)
	for i := range out.RestoreSessions {
		out.RestoreSessions[i].EndTime = clonePtr(out.RestoreSessions[i].EndTime)
	}
	f.cloneDirectory(&out)
	return out
}

func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

// fixtureID makes a stable GUID for the i-th default fixture of a kind, so default data
// and its links are the same in every run.
func fixtureID(kind string, i int) string {
	sum := sha1.Sum([]byte("vbharness/veeam/" + kind + "/" + strconv.Itoa(i)))
	sum[6] = (sum[6] & 0x0f) | 0x50 // version 5
	sum[8] = (sum[8] & 0x3f) | 0x80 // RFC 4122 variant
	return spec.FormatGUID([16]byte(sum[:16]))
}

// Default organization and accounts (docs/veeam-mock.md lists them).
const (
	// DefaultOrganization is the seed's organization, added with modern app-only
	// authentication.
	DefaultOrganization = "abc.onmicrosoft.com"
	// DefaultOrganizationMSID is DefaultOrganization's Entra tenant id, the mock Entra's
	// DefaultTenantID.
	DefaultOrganizationMSID = "6f1c2a9e-3b7d-4c55-9a0e-2d8b1f4e7c31"
	// LegacyOrganization is added with basic authentication (not modern app-only): its
	// account signs in with grant_type=password, and jwt-bearer logins are refused.
	LegacyOrganization = "fabrikam.onmicrosoft.com"
	// LegacyOrganizationMSID is LegacyOrganization's Entra tenant id.
	LegacyOrganizationMSID = "2b7e9c41-8d3a-4f6e-b1c5-7a0d9e2f4b63"
	// LegacyOrganizationAccount is LegacyOrganization's organization account.
	LegacyOrganizationAccount = "admin@fabrikam.onmicrosoft.com"
	// LegacyOrganizationPassword is that account's password.
	LegacyOrganizationPassword = "Fabrikam-Passw0rd!"
	// DefaultRestorePortalAppID is the Restore Portal application of the default fixtures.
	DefaultRestorePortalAppID = "5e0c7a2b-9f41-4d86-a3b7-c2e8f1d60a95"
)

// DefaultFixtures returns the data a server starts with unless WithFixtures replaces
// it: the seed's organization abc.onmicrosoft.com (modern app-only) and
// fabrikam.onmicrosoft.com (basic authentication), two proxies, three repositories, 45
// jobs (two pages at the default limit), 90 job sessions and three restore sessions,
// timed around clock.DefaultStart. Every call returns a fresh copy.
func DefaultFixtures() Fixtures { return defaultFixtures().clone() }

// shifted returns f with every time in it (time.Time and *time.Time fields, at any
// depth) moved by d. Slices, maps and pointers on the way are copied before a change,
// never written through, so f may share them with the defaults.
func (f Fixtures) shifted(d time.Duration) Fixtures {
	shiftTimes(reflect.ValueOf(&f).Elem(), d)
	return f
}

var timeType = reflect.TypeFor[time.Time]()

// shiftTimes moves every time under v, which must be settable, by d.
func shiftTimes(v reflect.Value, d time.Duration) {
	switch v.Kind() {
	case reflect.Struct:
		if v.Type() == timeType {
			if t := v.Interface().(time.Time); !t.IsZero() {
				v.Set(reflect.ValueOf(t.Add(d)))
			}
			return
		}
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				shiftTimes(v.Field(i), d)
			}
		}
	case reflect.Pointer:
		if v.IsNil() {
			return
		}
		p := reflect.New(v.Type().Elem())
		p.Elem().Set(v.Elem())
		shiftTimes(p.Elem(), d)
		v.Set(p)
	case reflect.Slice:
		if v.IsNil() {
			return
		}
		c := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		reflect.Copy(c, v)
		for i := range c.Len() {
			shiftTimes(c.Index(i), d)
		}
		v.Set(c)
	case reflect.Map:
		if v.IsNil() {
			return
		}
		c := reflect.MakeMapWithSize(v.Type(), v.Len())
		for _, k := range v.MapKeys() {
			e := reflect.New(v.Type().Elem()).Elem()
			e.Set(v.MapIndex(k))
			shiftTimes(e, d)
			c.SetMapIndex(k, e)
		}
		v.Set(c)
	}
}

// defaultFixtures builds the defaults once per process; callers must not change the
// value it returns (New keeps it as the read-only original that Reset copies).
var defaultFixtures = sync.OnceValue(buildDefaultFixtures)

func buildDefaultFixtures() Fixtures {
	day := time.Date(2026, 1, 4, 0, 0, 0, 0, time.UTC) // the day before clock.DefaultStart
	at := func(t time.Time) *time.Time { return &t }
	abcID, fabID := fixtureID("organization", 0), fixtureID("organization", 1)
	f := Fixtures{
		ServiceInstance: ServiceInstance{InstallationID: fixtureID("installation", 0), Version: DefaultVersion},
		RestorePortal:   RestorePortal{ApplicationID: DefaultRestorePortalAppID, RestorePortalURI: "https://vb365.tech.local:4443/"},
		Organizations: []Organization{{
			ID: abcID, Name: DefaultOrganization, MSID: DefaultOrganizationMSID, ModernAppOnly: true,
			ApplicationID: "c3a8f1d2-6b4e-4f0a-9d7c-1e5b2a8f3c60", Account: "admin@abc.onmicrosoft.com",
			IsExchangeOnline: true, IsSharePointOnline: true, IsTeamsOnline: true, IsTeamsChatsOnline: false,
			IsBackedUp: true, FirstBackupTime: at(time.Date(2024, 6, 1, 22, 10, 0, 0, time.UTC)),
			LastBackupTime: at(day.Add(22*time.Hour + 14*time.Minute + 10*time.Second)), BackedUpOrganizationID: DefaultOrganizationMSID,
		}, {
			ID: fabID, Name: LegacyOrganization, MSID: LegacyOrganizationMSID, ModernAppOnly: false,
			Account: LegacyOrganizationAccount, Password: LegacyOrganizationPassword,
			IsExchangeOnline: true, IsSharePointOnline: true,
			IsBackedUp: true, FirstBackupTime: at(time.Date(2023, 3, 12, 21, 0, 0, 0, time.UTC)),
			LastBackupTime: at(day.Add(21*time.Hour + 40*time.Minute)), BackedUpOrganizationID: LegacyOrganizationMSID,
		}},
	}
	for i, h := range []string{"vb365proxy01", "vb365proxy02"} {
		f.Proxies = append(f.Proxies, Proxy{
			ID: fixtureID("proxy", i), HostName: h, FQDN: h + ".tech.local", Port: 9193, Type: "Domain",
			OperatingSystem: "Windows", Status: "Online", MaintenanceModeState: "Disabled",
			CPUUsagePercent: 12.5 + float64(i)*9, MemoryUsagePercent: 40.1 + float64(i)*6.2, Version: DefaultVersion,
			ServiceAccount: `TECH\svc_vb365`, Role: []string{"Processor"},
		})
	}
	repoNames := []struct{ name, path string }{
		{"Default Backup Repository", `C:\VeeamRepository`},
		{"Exchange Repository", `E:\Repositories\Exchange`},
		{"SharePoint and Teams Repository", `F:\Repositories\SharePoint`},
	}
	for i, r := range repoNames {
		f.Repositories = append(f.Repositories, Repository{
			ID: fixtureID("repository", i), Name: r.name, Path: r.path, ProxyID: f.Proxies[i%2].ID,
			RetentionType: "ItemLevel", RetentionPeriodType: "Yearly", YearlyRetentionPeriod: "Years3",
			RetentionFrequencyType: "Daily", DailyTime: "18:00:00", DailyType: "Everyday",
			CapacityBytes: 107374182400 * int64(i+1), FreeSpaceBytes: 42949672960 + int64(i)*10737418240, IsIndexed: true,
		})
	}
	workloads := []string{"Exchange", "OneDrive", "SharePoint", "Teams", "Entire Organization"}
	statuses := []string{"Success", "Success", "Warning", "Success", "Failed"}
	for i := range 45 {
		org, short := abcID, "abc"
		if i >= 30 {
			org, short = fabID, "fabrikam"
		}
		wl := workloads[i%len(workloads)]
		backupType := "SelectedItems"
		if wl == "Entire Organization" {
			backupType = "EntireOrganization"
		}
		sched := SchedulePolicy{ScheduleEnabled: true, Type: "Daily", DailyType: "Everyday",
			DailyTime: fmt.Sprintf("%02d:%02d:00", 20+i%4, (i*7)%60), RetryEnabled: true, RetryNumber: 3, RetryWaitInterval: 10}
		switch i % 9 {
		case 4:
			sched = SchedulePolicy{ScheduleEnabled: true, Type: "Periodically", PeriodicallyEvery: "Hours4", RetryEnabled: true, RetryNumber: 3, RetryWaitInterval: 10}
		case 8:
			sched = SchedulePolicy{Type: "ManualOnly", RetryEnabled: false}
		}
		// A Daily job last ran at its dailyTime the day before the clock's start and runs
		// next at it on the start's day; a Periodically one last ran on the last mark of
		// its period before the start and runs next on the first after it.
		lastRun := day.Add(time.Duration(20+i%4)*time.Hour + time.Duration((i*7)%60)*time.Minute)
		var next *time.Time
		if sched.Type == "Periodically" {
			lastRun = clock.DefaultStart.Truncate(4 * time.Hour)
			next = at(lastRun.Add(4 * time.Hour))
		} else if sched.Type != "ManualOnly" {
			next = at(lastRun.Add(24 * time.Hour))
		}
		took := time.Duration(9+i%11) * time.Minute // each of its runs
		status := statuses[i%len(statuses)]
		j := Job{
			ID: fixtureID("job", i), Name: fmt.Sprintf("%s - %s %02d", short, wl, i+1), BackupType: backupType,
			OrganizationID: org, RepositoryID: f.Repositories[i%3].ID, SchedulePolicy: sched,
			LastRun: at(lastRun), NextRun: next, IsEnabled: i%9 != 8, LastStatus: status, ETag: int64(10 + i),
		}
		// lastBackup is the end of the last run that backed something up: the last run,
		// or the one a day before it (below) when the last failed.
		j.LastBackup = at(lastRun.Add(took))
		if status == "Failed" {
			j.LastBackup = at(lastRun.Add(-24*time.Hour + took))
		}
		f.Jobs = append(f.Jobs, j)
		for k, st := range []string{status, "Success"} {
			start := lastRun.Add(-time.Duration(k) * 24 * time.Hour)
			end := start.Add(took)
			details := fmt.Sprintf("Processed %d objects", 120+i*3)
			cfg := "Incremental"
			if k == 1 && i%7 == 0 {
				cfg = "Full"
			}
			f.JobSessions = append(f.JobSessions, JobSession{
				ID: fixtureID("jobsession", i*2+k), JobID: j.ID, RepositoryID: j.RepositoryID,
				CreationTime: start, EndTime: at(end), Progress: 100, JobType: "Backup", JobSessionConfigType: cfg,
				Status: st, Details: &details, ETag: 3,
				Statistics: JobStatistics{ProcessingRateBytesPS: 5242880 + int64(i)*1024, ProcessingRateItemsPS: 14,
					ReadRateBytesPS: 6291456, WriteRateBytesPS: 4194304, TransferredDataBytes: 734003200 + int64(i)*1048576,
					ProcessedObjects: int64(120 + i*3), Bottleneck: "Source"},
			})
		}
	}
	for i, rs := range []struct{ org, typ string }{{abcID, "Vex"}, {abcID, "Vesp"}, {fabID, "Veod"}} {
		name := DefaultOrganization
		if rs.org == fabID {
			name = LegacyOrganization
		}
		start := day.Add(time.Duration(9+i) * time.Hour)
		f.RestoreSessions = append(f.RestoreSessions, RestoreSession{
			ID: fixtureID("restoresession", i), Name: fmt.Sprintf("Restore session %d for %s", i+1, name),
			OrganizationID: rs.org, Type: rs.typ, CreationTime: start, EndTime: at(start.Add(35 * time.Minute)),
			State: "Stopped", Result: "Success", InitiatedBy: `VBO\Administrator`, ClientHost: "vb365.tech.local", ETag: 2,
		})
	}
	defaultDirectory(&f)
	return f.normalized()
}
