package veeam

// Mutations switch single behaviours of the mock off, for testing the tests: the scenario
// catalogue's mutation test (scripts/mutation_test.go) runs every bundled scenario against
// a server with one behaviour broken and checks that exactly the scenarios proving that
// behaviour fail, so a scenario that would pass whatever the server did is caught. They
// are not a way to configure the mock (settings and fault rules are): nothing but that
// test should set them. The zero value breaks nothing.
type Mutations struct {
	// IgnoreTenantAuthentication lets tenants log in (jwt-bearer, organization
	// passwords) and refresh while the tenantAuthentication setting is off.
	IgnoreTenantAuthentication bool
	// AcceptUnsignedAssertions takes an assertion's access token with alg "none" on its
	// claims alone instead of refusing it.
	AcceptUnsignedAssertions bool
	// IgnoreAssertionTenant skips the check that the assertion's tid is the
	// organization's tenant.
	IgnoreAssertionTenant bool
	// IgnoreAssertionScopes skips the checks for a Directory and a User permission in the
	// assertion's scp.
	IgnoreAssertionScopes bool
	// IgnoreRefreshTokenExpiry accepts refresh tokens past their expiry.
	IgnoreRefreshTokenExpiry bool
	// IgnoreTenantScope lets tenant and operator tokens reach administrator routes.
	IgnoreTenantScope bool
	// NoNextLinks leaves _links.next out of every page, so clients stop after the first.
	NoNextLinks bool
	// IgnoreDisableAntiforgery keeps antiforgery on whatever disable_antiforgery_token
	// says, so a client that sends the flag still gets tokens that need the antiforgery
	// token.
	IgnoreDisableAntiforgery bool
	// NoRestorePoints leaves out what a job run that backed something up leaves behind:
	// no restore point, and the repository's free space as it was.
	NoRestorePoints bool
	// IgnoreRbacScope lets a restore operator with any role, or none, explore anything of
	// its organization.
	IgnoreRbacScope bool
	// NoAppOnlyTokens starts the job runs of modern app-only organizations without
	// asking Entra for app-only tokens (apponly.go), so they succeed whatever Entra
	// would say.
	NoAppOnlyTokens bool
	// IgnoreRestoreUserCode makes restore actions ignore the userCode of their body: no
	// sign-in is checked or redeemed at Entra, and the restore runs as if none was given.
	IgnoreRestoreUserCode bool
	// IgnoreRestoreSessionOwner lets tenants and restore operators reach restore
	// sessions that are not theirs, another organization's included.
	IgnoreRestoreSessionOwner bool
}

// WithMutations breaks the behaviours m names; see Mutations. For testing the tests only.
func WithMutations(m Mutations) Option { return func(c *config) { c.mutations = m } }
