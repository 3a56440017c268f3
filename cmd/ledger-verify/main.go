// Command ledger-verify walks the journal's hash chain and reports the first broken link. It
// reads DATABASE_URL like the other programs, prints the result as JSON and exits 1 when the
// chain is broken, so cron or a person can run it without the API.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"paysplit/internal/app"
	"paysplit/internal/db"
	"paysplit/internal/ledger"
)

func main() {
	os.Exit(run())
}

func run() int {
	cfg := app.MustConfig()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	pool, err := db.Connect(ctx, cfg.DatabaseURL)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ledger-verify:", err)
		return 2
	}
	defer pool.Close()
	v, err := ledger.New(pool).Verify(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ledger-verify:", err)
		return 2
	}
	out, _ := json.MarshalIndent(v, "", "  ")
	fmt.Println(string(out))
	if !v.OK {
		fmt.Fprintf(os.Stderr, "ledger-verify: chain broken at entry %d: %s\n", v.Break.EntryID, v.Break.Reason)
		return 1
	}
	return 0
}
