package engine

import (
	"encoding/json"
	"maps"
	"slices"

	"github.com/dop251/goja"
)

// newTarget is `target`: where the test runs, read-only data. Empty while the runner
// collects tests.
func newTarget(h *host) goja.Value {
	o := h.vm.NewObject()
	t := h.target
	if t == nil {
		return o
	}
	_ = o.Set("name", t.Name)
	_ = o.Set("kind", string(t.Kind))
	es := t.Entra.WithDefaults() // what the entra module's client uses
	_ = o.Set("entra", h.object(
		member{"authority", es.Authority},
		member{"tenant", es.Tenant},
		member{"clientId", es.ClientID},
		member{"scope", es.Scope},
		member{"user", t.Entra.User},
	))
	_ = o.Set("veeam", h.object(
		member{"url", t.Veeam.URL},
		member{"organization", t.Organization()},
		member{"adminUser", t.Veeam.AdminUser},
	))
	_ = o.Set("control", t.Control != nil)
	_ = o.Set("virtualClock", h.clock.IsVirtual())
	settings := h.vm.NewObject()
	if len(t.Settings) > 0 {
		if b, err := json.Marshal(t.Settings); err == nil {
			if so, ok := h.parseJSON(b, "target settings").(*goja.Object); ok {
				settings = so
			}
		}
	}
	_ = o.Set("settings", settings)
	return o
}

// newEnv is `env`: the target's VBHARNESS_* variables, by name.
func newEnv(h *host) goja.Value {
	o := h.vm.NewObject()
	if h.target != nil {
		for _, k := range slices.Sorted(maps.Keys(h.target.Env)) {
			_ = o.Set(k, h.target.Env[k])
		}
	}
	return o
}
