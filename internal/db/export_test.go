package db

// MigrationsFS lets the external test package count the embedded migrations
// without widening the production API.
var MigrationsFS = migrationsFS
