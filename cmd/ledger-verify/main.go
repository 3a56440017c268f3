// Command ledger-verify walks the journal's hash chain and reports the first broken link. It
// reads DATABASE_URL like the other programs (and nothing else: a cron job on a production host
// needs no other secret), prints the result as JSON and exits 1 when the chain is broken, 2 when
// it could not be verified, so cron or a person can run it without the API.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"paysplit/internal/config"
	"paysplit/internal/db"
	"paysplit/internal/ledger"
)

func main() {
	os.Exit(run())
}

func run() int {
	url, err := config.DatabaseURL(os.Getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ledger-verify:", err)
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	pool, err := db.Connect(ctx, url)
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
