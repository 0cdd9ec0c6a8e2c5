// The polyglot flow for Go: the client that openapi-generator's `go` generator makes from
// openapi.yaml, driven against the sandbox that tests/polyglot/run.sh starts. It runs the token
// flow, every users and backups operation, an archive download and the error paths, asserts each
// typed result, and prints "go: N passed, 0 failed" (or stops at the first failure).
//
// Other teams copy this file: each step uses the generated client as an application would. Where
// the generated client is awkward, a comment says why.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"time"

	db "generated.invalid/scalingo-db/dbapi"
)

// The users this flow creates (and deletes).
const (
	userWithPassword    = "poly-go-1"
	userWithoutPassword = "poly-go-2"
	userTaken           = "poly-go-taken"
)

// A backup id that does not exist.
const unknownBackup = "000000000000000000000000"

func main() {
	base := env("SANDBOX_URL")
	database := env("SANDBOX_DATABASE")
	client := newClient(base)

	ctx := databaseContext(client, env("SANDBOX_API_TOKEN"), env("SANDBOX_APP"), database)
	users(client, ctx, database)
	backups(client, ctx, database)
	errorPaths(client, ctx, base, database)

	fmt.Printf("go: %d passed, 0 failed\n", passed)
}

// newClient points the three hosts of the contract at the sandbox. The Database API is the
// default server; the two token operations have servers of their own in the contract, which the
// generated Configuration keys by "<Service>.<Method>" strings (a misspelt key would silently send
// that operation to the Database API's server).
func newClient(base string) *db.APIClient {
	cfg := db.NewConfiguration()
	cfg.Servers = db.ServerConfigurations{{URL: base + "/api"}}
	cfg.OperationServers = map[string]db.ServerConfigurations{
		"AuthAPIService.ExchangeApiToken": {{URL: base}},
		"AuthAPIService.GetAddonToken":    {{URL: base}},
	}
	cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	return db.NewAPIClient(cfg)
}

// databaseContext runs the token flow and answers a context that authorises Database API calls.
//
// The generated client takes credentials from the context and adds every one it finds to every
// request, whatever the operation's `security` says: so each step gets a context with exactly one
// credential (Basic and Bearer together would send two Authorization headers).
func databaseContext(client *db.APIClient, apiToken, app, database string) context.Context {
	// HTTP Basic with an empty user and the API token as the password.
	basic := context.WithValue(context.Background(), db.ContextBasicAuth,
		db.BasicAuth{UserName: "", Password: apiToken})
	userToken, resp, err := client.AuthAPI.ExchangeApiToken(basic).Execute()
	succeeded("exchange_api_token", resp, err)
	check(userToken.Token != "", "exchange_api_token: an empty user token")

	user := context.WithValue(context.Background(), db.ContextAccessToken, userToken.Token)
	addon, resp, err := client.AuthAPI.GetAddonToken(user, app, database).Execute()
	succeeded("get_addon_token", resp, err)
	check(addon.Addon.Id == database, "get_addon_token: addon %q, want %q", addon.Addon.Id, database)
	check(addon.Addon.Token != "", "get_addon_token: an empty database token")

	return context.WithValue(context.Background(), db.ContextAccessToken, addon.Addon.Token)
}

func users(client *db.APIClient, ctx context.Context, database string) {
	api := client.UsersAPI

	list, resp, err := api.ListUsers(ctx, database).Execute()
	succeeded("list_users", resp, err)
	check(slices.ContainsFunc(list.DatabaseUsers, func(u db.DatabaseUser) bool { return u.GetProtected() }),
		"list_users: no protected default user among %v", names(list.DatabaseUsers))

	// A read-only user with a password.
	password := "poly-go-first-password-0123456789"
	creation := db.NewUserCreation(userWithPassword)
	creation.SetDatabaseId(database) // the official clients send it too
	creation.SetReadOnly(true)
	creation.SetPassword(password)
	creation.SetPasswordConfirmation(password)
	created, resp, err := api.CreateUser(ctx, database).
		CreateUserRequest(*db.NewCreateUserRequest(*creation)).Execute()
	succeeded("create_user", resp, err)
	check(created.DatabaseUser.Name == userWithPassword, "create_user: named %q", created.DatabaseUser.Name)
	check(created.DatabaseUser.GetReadOnly(), "create_user: the user is not read-only")

	// Without a password, the service generates one and answers it, once.
	generated, resp, err := api.CreateUser(ctx, database).
		CreateUserRequest(*db.NewCreateUserRequest(*db.NewUserCreation(userWithoutPassword))).Execute()
	succeeded("create_user (no password)", resp, err)
	check(generated.DatabaseUser.Name == userWithoutPassword, "create_user: named %q", generated.DatabaseUser.Name)
	check(generated.DatabaseUser.GetPassword() != "", "create_user: no generated password in the answer")
	check(!generated.DatabaseUser.GetReadOnly(), "create_user: read-only though not asked for")

	newPassword := "poly-go-second-password-0123456789"
	update := db.NewUserPasswordUpdate(newPassword, newPassword)
	update.SetDatabaseId(database)
	updated, resp, err := api.UpdateUserPassword(ctx, database, userWithPassword).
		UpdateUserPasswordRequest(*db.NewUpdateUserPasswordRequest(*update)).Execute()
	succeeded("update_user_password", resp, err)
	check(updated.DatabaseUser.Name == userWithPassword, "update_user_password: named %q", updated.DatabaseUser.Name)

	reset, resp, err := api.ResetUserPassword(ctx, database, userWithPassword).Execute()
	succeeded("reset_user_password", resp, err)
	check(reset.DatabaseUser.GetPassword() != "", "reset_user_password: no new password in the answer")
	check(reset.DatabaseUser.GetPassword() != newPassword, "reset_user_password: the password did not change")

	for _, name := range []string{userWithPassword, userWithoutPassword} {
		resp, err := api.DeleteUser(ctx, database, name).Execute()
		succeeded("delete_user "+name, resp, err)
		check(resp.StatusCode == http.StatusNoContent, "delete_user %s: %s, want 204", name, resp.Status)
	}

	list, resp, err = api.ListUsers(ctx, database).Execute()
	succeeded("list_users", resp, err)
	left := names(list.DatabaseUsers)
	check(!slices.Contains(left, userWithPassword) && !slices.Contains(left, userWithoutPassword),
		"list_users: deleted users still listed: %v", left)
}

func backups(client *db.APIClient, ctx context.Context, database string) {
	api := client.BackupsAPI

	list, resp, err := api.ListBackups(ctx, database).Execute()
	succeeded("list_backups", resp, err)
	for _, b := range list.DatabaseBackups {
		check(b.Id != "" && b.Status != "", "list_backups: a backup without id or status: %+v", b)
	}

	created, resp, err := api.CreateBackup(ctx, database).Execute()
	succeeded("create_backup", resp, err)
	backup := created.DatabaseBackup
	check(backup.Status == "scheduled", "create_backup: status %q, want scheduled", backup.Status)

	// The backup is made in the background: poll it, 100 ms apart, at most 50 times.
	for try := 1; backup.Status != "done"; try++ {
		check(backup.Status != "error", "get_backup: the backup failed")
		check(try <= 50, "get_backup: still %q after 50 tries", backup.Status)
		time.Sleep(100 * time.Millisecond)
		got, resp, err := api.GetBackup(ctx, database, backup.Id).Execute()
		succeeded("get_backup", resp, err)
		backup = got.DatabaseBackup
	}
	// `size` is nullable in the contract (null until the backup is done): a NullableInt64.
	size, ok := backup.GetSizeOk()
	check(ok && size != nil && *size > 0, "get_backup: a done backup without a size")

	archive, resp, err := api.GetBackupArchiveUrl(ctx, database, backup.Id).Execute()
	succeeded("get_backup_archive_url", resp, err)

	// The link is followed as given: a plain GET of the absolute URL, without the client (and so
	// without Authorization): it carries its own token. It is a secret, so it is never printed.
	download, err := (&http.Client{Timeout: 30 * time.Second}).Get(archive.DownloadUrl)
	check(err == nil, "download: %v", err)
	defer download.Body.Close()
	data, err := io.ReadAll(download.Body)
	check(err == nil, "download: %v", err)
	check(download.StatusCode == http.StatusOK, "download: %s, want 200", download.Status)
	check(bytes.HasPrefix(data, []byte{0x1f, 0x8b}), "download: not gzip (starts % x)", data[:min(len(data), 2)])
	check(int64(len(data)) == *size, "download: %d bytes, the backup's size is %d", len(data), *size)
}

func errorPaths(client *db.APIClient, ctx context.Context, base, database string) {
	// 404: the JSON ErrorBody, with the kind of thing not found.
	_, resp, err := client.BackupsAPI.GetBackup(ctx, database, unknownBackup).Execute()
	notFound := errorBody("get_backup", refused("get_backup", http.StatusNotFound, resp, err))
	check(notFound.GetResource() == "database_backup", "get_backup: resource %q, want database_backup",
		notFound.GetResource())

	// 422: a taken name; the ErrorBody's `errors` maps each field to its messages.
	create := func() (*db.DatabaseUserEnvelope, *http.Response, error) {
		return client.UsersAPI.CreateUser(ctx, database).
			CreateUserRequest(*db.NewCreateUserRequest(*db.NewUserCreation(userTaken))).Execute()
	}
	_, resp, err = create()
	succeeded("create_user "+userTaken, resp, err)
	_, resp, err = create()
	taken := errorBody("create_user", refused("create_user", http.StatusUnprocessableEntity, resp, err))
	check(len(taken.GetErrors()["name"]) > 0, "create_user: no message about name in %v", taken.GetErrors())
	resp, err = client.UsersAPI.DeleteUser(ctx, database, userTaken).Execute()
	succeeded("delete_user "+userTaken, resp, err)

	// The other errors are not JSON: the contract gives the plain-text 429 and a gateway's 502,
	// 503 and 504 their own answers, so the client decodes them as a string Model(); Body() has
	// the raw bytes, and the response the status and headers.

	// 429, plain text, with Retry-After.
	injectFault(base, "list_users", map[string]any{"kind": "status", "status": 429,
		"body": "Retry later", "content_type": "text/plain", "headers": [][2]string{{"Retry-After", "1"}}})
	_, resp, err = client.UsersAPI.ListUsers(ctx, database).Execute()
	limited := refused("list_users", http.StatusTooManyRequests, resp, err)
	check(resp.Header.Get("Retry-After") == "1", "list_users: Retry-After %q, want 1", resp.Header.Get("Retry-After"))
	check(string(limited.Body()) == "Retry later", "list_users: body %q, want Retry later", limited.Body())
	check(limited.Model() == "Retry later", "list_users: model %v, want the text", limited.Model())

	// 502, an HTML page from a gateway.
	page := "<html><body><h1>502 Bad Gateway</h1></body></html>"
	injectFault(base, "list_backups", map[string]any{"kind": "status", "status": 502,
		"body": page, "content_type": "text/html"})
	_, resp, err = client.BackupsAPI.ListBackups(ctx, database).Execute()
	gateway := refused("list_backups", http.StatusBadGateway, resp, err)
	check(string(gateway.Body()) == page, "list_backups: body %q, want the gateway's page", gateway.Body())
	check(gateway.Model() == page, "list_backups: model %v, want the page", gateway.Model())

	// 503, empty and without a Content-Type: the client decodes nothing, and Error() is the status.
	injectFault(base, "list_backups", map[string]any{"kind": "status", "status": 503, "body": ""})
	_, resp, err = client.BackupsAPI.ListBackups(ctx, database).Execute()
	unavailable := refused("list_backups", http.StatusServiceUnavailable, resp, err)
	check(len(unavailable.Body()) == 0, "list_backups: body %q, want none", unavailable.Body())
}

// passed counts the assertions that held.
var passed int

// check counts one assertion, or stops the flow with a message naming the step that failed.
func check(ok bool, format string, args ...any) {
	if !ok {
		fail(format, args...)
	}
	passed++
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "go flow FAILED: "+format+"\n", args...)
	fmt.Printf("go: %d passed, 1 failed\n", passed)
	os.Exit(1)
}

// succeeded checks that a generated call was answered with a 2xx. On failure it shows the status,
// the client's message and the ErrorBody's `error`, not the raw body: answers may carry secrets
// (`x-secret` in the contract).
func succeeded(op string, resp *http.Response, err error) {
	if err == nil && resp != nil && resp.StatusCode/100 == 2 {
		passed++
		return
	}
	var apiErr *db.GenericOpenAPIError
	if errors.As(err, &apiErr) {
		if body, ok := apiErr.Model().(db.ErrorBody); ok && body.HasError() {
			fail("%s: %s: %s", op, status(resp), body.GetError())
		}
	}
	fail("%s: %s: %v", op, status(resp), err)
}

// refused checks that a generated call failed with the status wanted, and answers the client's
// error, which holds the raw body (Body) and the decoded ErrorBody when the body was JSON (Model).
func refused(op string, want int, resp *http.Response, err error) *db.GenericOpenAPIError {
	var apiErr *db.GenericOpenAPIError
	check(errors.As(err, &apiErr), "%s: want a %d error from the client, got %v (%s)", op, want, err, status(resp))
	check(resp != nil && resp.StatusCode == want, "%s: %s, want %d", op, status(resp), want)
	return apiErr
}

// errorBody is the ErrorBody the client decoded from a JSON error. The generated client keeps it
// as an `any` (Model()), the same for every operation, so it takes a type assertion.
func errorBody(op string, e *db.GenericOpenAPIError) db.ErrorBody {
	body, ok := e.Model().(db.ErrorBody)
	check(ok, "%s: the error was not decoded as an ErrorBody (%T): %q", op, e.Model(), e.Body())
	return body
}

// injectFault makes the sandbox fail the next call of an operation (its control route).
func injectFault(base, operation string, fault map[string]any) {
	rule, err := json.Marshal(map[string]any{"operation": operation, "times": 1, "fault": fault})
	check(err == nil, "fault: %v", err)
	resp, err := http.Post(base+"/_sandbox/faults", "application/json", bytes.NewReader(rule))
	check(err == nil, "fault for %s: %v", operation, err)
	resp.Body.Close()
	check(resp.StatusCode/100 == 2, "fault for %s: %s", operation, resp.Status)
}

func status(resp *http.Response) string {
	if resp == nil {
		return "no answer"
	}
	return resp.Status
}

func names(users []db.DatabaseUser) []string {
	var out []string
	for _, u := range users {
		out = append(out, u.Name)
	}
	return out
}

func env(name string) string {
	value := os.Getenv(name)
	if value == "" {
		fail("%s is not set (run through tests/polyglot/run.sh)", name)
	}
	return value
}
