// Scalingo's own Go client (go-scalingo, unchanged) against the sandbox binary: every users and
// backups function through its real authentication (API token, exchange, addon token on the main
// API), the database, the schedule and point-in-time recovery, each result asserted with the
// requests it cost; then 1,000 calls one at a time (users list and backups list in turn), their
// requests and wall time, the figures `cargo xtask bench auth` prints for our facade.
//
// Run by run.sh, which points it at a sandbox and at go-scalingo's source.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	scalingo "github.com/Scalingo/go-scalingo/v11"
)

// calls is the size of the requests-per-call run, as in our benchmark.
const calls = 1000

var (
	base     = os.Getenv("SANDBOX_URL")
	failures int
)

// requests is how many requests the sandbox has answered so far.
func requests() int {
	resp, err := http.Get(base + "/_sandbox/counters")
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	var counted struct {
		Total int `json:"total"`
	}
	body, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(body, &counted); err != nil {
		panic(fmt.Sprintf("the sandbox's counters: %s", body))
	}
	return counted.Total
}

// step runs one call, prints what it gave and what it cost, and counts it failed when it did.
func step(name string, call func() (string, error)) {
	before := requests()
	detail, err := call()
	cost := requests() - before
	if err != nil {
		failures++
		fmt.Printf("FAIL %-36s %v\n", name, err)
		return
	}
	fmt.Printf("ok   %-36s %2d requests  %s\n", name, cost, detail)
}

// check turns a false condition into an error naming it.
func check(ok bool, format string, args ...any) error {
	if ok {
		return nil
	}
	return fmt.Errorf(format, args...)
}

func main() {
	ctx := context.Background()
	app, addon := os.Getenv("SANDBOX_APP"), os.Getenv("SANDBOX_DATABASE")
	client, err := scalingo.New(ctx, scalingo.ClientConfig{
		APIEndpoint:         base,
		AuthEndpoint:        base,
		DatabaseAPIEndpoint: base,
		APIToken:            os.Getenv("SANDBOX_API_TOKEN"),
	})
	if err != nil {
		panic(err)
	}
	const user = "go_scalingo_user"
	password := "correct-horse-battery-staple-42"

	step("DatabaseShow", func() (string, error) {
		db, err := client.DatabaseShow(ctx, app, addon)
		if err == nil {
			err = check(db.TypeName == "postgresql", "type %q", db.TypeName)
		}
		return fmt.Sprintf("%s %s", db.TypeName, db.ReadableVersion), err
	})
	step("DatabaseListUsers", func() (string, error) {
		users, err := client.DatabaseListUsers(ctx, app, addon)
		if err == nil {
			err = check(len(users) >= 1 && users[0].Protected, "no protected user in %v", users)
		}
		return fmt.Sprintf("%d users", len(users)), err
	})
	step("DatabaseCreateUser", func() (string, error) {
		created, err := client.DatabaseCreateUser(ctx, app, addon, scalingo.DatabaseCreateUserParam{
			DatabaseID: addon, Name: user, ReadOnly: true,
			Password: password, PasswordConfirmation: password,
		})
		if err == nil {
			err = check(created.Name == user && created.ReadOnly, "created %+v", created)
		}
		return created.Name, err
	})
	step("DatabaseUpdateUser", func() (string, error) {
		changed := password + "-2"
		updated, err := client.DatabaseUpdateUser(ctx, app, addon, user, scalingo.DatabaseUpdateUserParam{
			DatabaseID: addon, Password: changed, PasswordConfirmation: changed,
		})
		if err == nil {
			err = check(updated.Name == user, "updated %+v", updated)
		}
		return updated.Name, err
	})
	step("DatabaseUserResetPassword", func() (string, error) {
		reset, err := client.DatabaseUserResetPassword(ctx, app, addon, user)
		if err == nil {
			err = check(len(reset.Password) >= 24, "a password of %d characters", len(reset.Password))
		}
		return fmt.Sprintf("a new password of %d characters", len(reset.Password)), err
	})
	step("DatabaseDeleteUser", func() (string, error) {
		if err := client.DatabaseDeleteUser(ctx, app, addon, user); err != nil {
			return "", err
		}
		users, err := client.DatabaseListUsers(ctx, app, addon)
		for _, listed := range users {
			if listed.Name == user {
				return "", fmt.Errorf("%s is still listed", user)
			}
		}
		return "gone from the list", err
	})
	step("BackupList", func() (string, error) {
		backups, err := client.BackupList(ctx, app, addon)
		return fmt.Sprintf("%d backups", len(backups)), err
	})
	var backupID string
	step("BackupCreate", func() (string, error) {
		backup, err := client.BackupCreate(ctx, app, addon)
		if err != nil {
			return "", err
		}
		backupID = backup.ID
		return fmt.Sprintf("%s %s", backup.ID, backup.Status), check(backup.ID != "", "no id")
	})
	var size uint64
	step("BackupShow (until done)", func() (string, error) {
		for try := 1; try <= 50; try++ {
			backup, err := client.BackupShow(ctx, app, addon, backupID)
			if err != nil {
				return "", err
			}
			if backup.Status == scalingo.BackupStatusDone {
				size = backup.Size
				return fmt.Sprintf("done after %d polls, %d bytes", try, backup.Size), nil
			}
			time.Sleep(100 * time.Millisecond)
		}
		return "", fmt.Errorf("not done after 50 polls")
	})
	step("BackupDownloadURL, then the link", func() (string, error) {
		link, err := client.BackupDownloadURL(ctx, app, addon, backupID)
		if err != nil {
			return "", err
		}
		resp, err := http.Get(link)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		archive, err := io.ReadAll(resp.Body)
		if err == nil {
			err = check(resp.StatusCode == 200 && uint64(len(archive)) == size &&
				len(archive) > 2 && archive[0] == 0x1f && archive[1] == 0x8b,
				"status %d, %d bytes of %d", resp.StatusCode, len(archive), size)
		}
		return fmt.Sprintf("%d bytes, gzip", len(archive)), err
	})
	step("DatabaseUpdatePeriodicBackupsConfig", func() (string, error) {
		hour, enabled := 4, true
		db, err := client.DatabaseUpdatePeriodicBackupsConfig(ctx, app, addon,
			scalingo.DatabaseUpdatePeriodicBackupsConfigParams{ScheduledAt: &hour, Enabled: &enabled})
		if err == nil {
			err = check(len(db.PeriodicBackupsScheduledAt) == 1 && db.PeriodicBackupsScheduledAt[0] == 4,
				"scheduled at %v", db.PeriodicBackupsScheduledAt)
		}
		return fmt.Sprintf("scheduled at %v", db.PeriodicBackupsScheduledAt), err
	})
	step("DatabaseGetPITRRecoveryWindow", func() (string, error) {
		window, err := client.DatabaseGetPITRRecoveryWindow(ctx, app, addon)
		if err != nil {
			return "", err
		}
		latest := window.LatestRecoverableAt
		err = check(latest != nil && window.EarliestRecoverableAt.Before(*latest), "%+v", window)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("%s to %s", window.EarliestRecoverableAt.Format(time.RFC3339),
			latest.Format(time.RFC3339)), nil
	})
	step("DatabaseRestorePITR", func() (string, error) {
		operation, err := client.DatabaseRestorePITR(ctx, app, addon, time.Now().Add(-time.Minute))
		if err == nil {
			err = check(operation != "", "no operation id")
		}
		return "operation " + operation, err
	})

	before := requests()
	started := time.Now()
	for index := 0; index < calls; index++ {
		if index%2 == 0 {
			_, err = client.DatabaseListUsers(ctx, app, addon)
		} else {
			_, err = client.BackupList(ctx, app, addon)
		}
		if err != nil {
			panic(err)
		}
	}
	took := time.Since(started)
	made := requests() - before
	fmt.Printf("\n%d calls, one at a time (users list and backups list in turn): %d requests, %.3f per call, %.2f s in all\n",
		calls, made, float64(made)/calls, took.Seconds())

	if failures > 0 {
		fmt.Printf("%d step(s) FAILED\n", failures)
		os.Exit(1)
	}
}
