package config

import "strings"

// productionEnv is the smallest environment APP_ENV=production starts with.
func productionEnv() map[string]string {
	return map[string]string{
		"APP_ENV": "production", "DATABASE_URL": "postgres://db.internal/pay", "ADMIN_API_KEY": strings.Repeat("k", 32),
		"STRIPE_API_KEY": "sk_live_abc", "STRIPE_WEBHOOK_SECRET": "whsec_abc", "SECRETS_KEY": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
	}
}

// with returns base with the key/value pairs kv added or replaced; base is not changed.
func with(base map[string]string, kv ...string) map[string]string {
	out := map[string]string{}
	for k, v := range base {
		out[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}
