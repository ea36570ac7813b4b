package proxy

// WithLimits sets the proxy's bounds (MaxViolations, MaxUnknownPaths) for a test, so
// that it can pass them with a few exchanges.
func WithLimits(violations, unknownPaths int) Option {
	return func(p *Proxy) { p.maxFindings, p.maxUnknown = violations, unknownPaths }
}
