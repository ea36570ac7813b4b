package runner

import (
	"github.com/vbharness/vbharness/mocks/entra"
	"github.com/vbharness/vbharness/mocks/veeam"
	"github.com/vbharness/vbharness/runner/config"
)

// MockDefaults fills in what a target with a control section, a running `vbharness
// mock`, leaves out: the user entra.signIn approves as (the mock's default user, as it
// approves when the approval names nobody, so target.entra.user says who signs in; a mock
// started with a directory file whose default user differs needs user: in the target),
// and the mock's Veeam administrator and its password, unless the file names another
// administrator or VBHARNESS_VEEAM_PASSWORD gives the password (as it must for a mock
// started with --admin-password). The password joins r.Secrets. A target without
// control: (a lab server) is left alone: a lab's users are never guessed. Calling it
// again changes nothing; EngineTarget calls it.
//
// The defaults are the mock's own constants, so they live here and not in runner/config,
// which knows the file and the environment but not the mocks.
func MockDefaults(r *config.Resolved) {
	if r == nil || r.Control == nil {
		return
	}
	if r.Entra.User == "" {
		r.Entra.User = entra.DefaultAdminUPN
	}
	if r.Veeam.AdminUser == "" {
		r.Veeam.AdminUser = veeam.DefaultAdminUser
	}
	if r.Veeam.AdminPassword == "" {
		r.Veeam.AdminPassword = veeam.DefaultAdminPassword
		r.Secrets = append(r.Secrets, r.Veeam.AdminPassword)
	}
}
