package polyglot;

import com.google.gson.Gson;
import io.scalingo.db.client.ApiClient;
import io.scalingo.db.client.ApiException;
import io.scalingo.db.client.api.AuthApi;
import io.scalingo.db.client.api.BackupsApi;
import io.scalingo.db.client.api.UsersApi;
import io.scalingo.db.client.auth.HttpBasicAuth;
import io.scalingo.db.client.auth.HttpBearerAuth;
import io.scalingo.db.client.model.AddonWithToken;
import io.scalingo.db.client.model.Backup;
import io.scalingo.db.client.model.CreateUserRequest;
import io.scalingo.db.client.model.DatabaseUser;
import io.scalingo.db.client.model.ErrorBody;
import io.scalingo.db.client.model.UpdateUserPasswordRequest;
import io.scalingo.db.client.model.UserCreation;
import io.scalingo.db.client.model.UserPasswordUpdate;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The flow every language runs against the sandbox, through the Java client generated from
 * openapi.yaml (openapi-generator, library okhttp-gson): the token flow, every users and backups
 * operation, an archive download, and the error paths. It stops at the first surprise with a
 * message saying which step and what came back; on success it prints one line.
 *
 * <p>Secrets (tokens, passwords, the archive link) never appear in a message.
 */
public final class Main {
  private static final String PREFIX = "poly-java-";

  public static void main(String[] args) throws Exception {
    try {
      run();
    } catch (ApiException e) {
      // Its message is only the HTTP reason: show the status and the body (error bodies carry
      // no secret) before the stack trace says which call it was.
      System.err.printf("java flow: an unexpected refusal, status %d, body: %s%n",
          e.getCode(), e.getResponseBody());
      throw e;
    }
  }

  private static void run() throws Exception {
    String sandboxUrl = env("SANDBOX_URL");
    String database = env("SANDBOX_DATABASE");

    // One ApiClient serves the three hosts of the contract. The Database API is its base path.
    // The token flow's two operations carry their own servers, which AuthApi uses unless given
    // a custom base URL: here both are the sandbox. (Against the service, the main API's needs a
    // custom base URL too: okhttp-gson leaves "https://api.{region}.scalingo.com" unfilled.)
    ApiClient client = new ApiClient().setBasePath(sandboxUrl + "/api");
    AuthApi auth = new AuthApi(client);
    auth.setCustomBaseUrl(sandboxUrl);
    UsersApi users = new UsersApi(client);
    BackupsApi backups = new BackupsApi(client);

    // 1. Token flow. Each operation names its security scheme, and the client applies only that
    // one, so the three credentials can sit side by side. They are looked up by the scheme's name
    // in the contract: ApiClient.setBearerToken would pick "the first" of the two Bearer schemes.
    HttpBasicAuth apiToken = (HttpBasicAuth) client.getAuthentication("apiToken");
    apiToken.setUsername("");
    apiToken.setPassword(env("SANDBOX_API_TOKEN"));
    String userToken = auth.exchangeApiToken().getToken();
    check(notEmpty(userToken), "exchange_api_token: no token in the answer");
    ((HttpBearerAuth) client.getAuthentication("userToken")).setBearerToken(userToken);
    AddonWithToken addon = auth.getAddonToken(env("SANDBOX_APP"), database).getAddon();
    check(database.equals(addon.getId()), "get_addon_token: addon id " + addon.getId());
    check(notEmpty(addon.getToken()), "get_addon_token: no database token in the answer");
    ((HttpBearerAuth) client.getAuthentication("databaseToken")).setBearerToken(addon.getToken());

    // 2. Users.
    List<DatabaseUser> listed = users.listUsers(database).getDatabaseUsers();
    check(listed.stream().anyMatch(u -> Boolean.TRUE.equals(u.getProtected())),
        "list_users: no protected default user among " + names(listed));

    String withPassword = PREFIX + "1";
    String chosen = "Polyglot-java-password-0001";
    DatabaseUser created = users.createUser(database, new CreateUserRequest().databaseUser(
        new UserCreation().databaseId(database).name(withPassword).readOnly(true)
            .password(chosen).passwordConfirmation(chosen))).getDatabaseUser();
    check(withPassword.equals(created.getName()), "create_user: answered " + created.getName());
    check(Boolean.TRUE.equals(created.getReadOnly()), "create_user: read_only is not true");

    String generated = PREFIX + "2";
    DatabaseUser second = users.createUser(database, new CreateUserRequest().databaseUser(
        new UserCreation().databaseId(database).name(generated))).getDatabaseUser();
    check(notEmpty(second.getPassword()), "create_user without a password: none generated");

    String changed = "Polyglot-java-password-0002";
    DatabaseUser updated = users.updateUserPassword(database, withPassword,
        new UpdateUserPasswordRequest().databaseUser(new UserPasswordUpdate()
            .databaseId(database).password(changed).passwordConfirmation(changed)))
        .getDatabaseUser();
    check(withPassword.equals(updated.getName()), "update_user_password: " + updated.getName());

    DatabaseUser reset = users.resetUserPassword(database, generated).getDatabaseUser();
    check(notEmpty(reset.getPassword()), "reset_user_password: no new password in the answer");
    check(!reset.getPassword().equals(second.getPassword()),
        "reset_user_password: the password did not change");

    users.deleteUser(database, withPassword);
    users.deleteUser(database, generated);
    listed = users.listUsers(database).getDatabaseUsers();
    check(listed.stream().noneMatch(u -> u.getName().startsWith(PREFIX)),
        "list_users after delete_user: still " + names(listed));

    // 3. Backups: create one, wait for it (bounded), download its archive.
    int before = backups.listBackups(database).getDatabaseBackups().size();
    Backup backup = backups.createBackup(database).getDatabaseBackup();
    check("scheduled".equals(backup.getStatus()), "create_backup: status " + backup.getStatus());
    for (int tries = 0; tries < 50 && !"done".equals(backup.getStatus()); tries++) {
      check(!"error".equals(backup.getStatus()), "get_backup: the backup failed");
      Thread.sleep(100);
      backup = backups.getBackup(database, backup.getId()).getDatabaseBackup();
    }
    check("done".equals(backup.getStatus()), "get_backup: still " + backup.getStatus() + " after 50 polls");
    check(backups.listBackups(database).getDatabaseBackups().size() == before + 1,
        "list_backups: the new backup is not listed");

    // The link is followed as given: a plain GET of the absolute URL, without the client (which
    // would add the database token) and so without Authorization.
    URI link = backups.getBackupArchiveUrl(database, backup.getId()).getDownloadUrl();
    HttpResponse<byte[]> archive = HttpClient.newHttpClient()
        .send(HttpRequest.newBuilder(link).GET().build(), HttpResponse.BodyHandlers.ofByteArray());
    byte[] bytes = archive.body();
    check(archive.statusCode() == 200, "archive download: status " + archive.statusCode());
    check(bytes.length >= 2 && bytes[0] == (byte) 0x1f && bytes[1] == (byte) 0x8b,
        "archive download: not gzip (no 1f 8b magic)");
    check(backup.getSize() != null && bytes.length == backup.getSize(),
        "archive download: " + bytes.length + " bytes, the backup says " + backup.getSize());

    // 4. Error paths. The generated client throws ApiException for any status outside 2xx with
    // the raw body and headers; it does not decode the contract's ErrorBody, so the flow does it
    // with the generated model.
    ErrorBody notFound = errorBody(refused(404, "get_backup of an unknown id",
        () -> backups.getBackup(database, "000000000000000000000000")));
    check("database_backup".equals(notFound.getResource()), "404: resource " + notFound.getResource());

    String taken = PREFIX + "3";
    UserCreation again = new UserCreation().databaseId(database).name(taken);
    users.createUser(database, new CreateUserRequest().databaseUser(again));
    ErrorBody unprocessable = errorBody(refused(422, "create_user with a taken name",
        () -> users.createUser(database, new CreateUserRequest().databaseUser(again))));
    Map<String, List<String>> errors = unprocessable.getErrors();
    check(errors != null && errors.containsKey("name") && !errors.get("name").isEmpty(),
        "422: no messages on name in " + errors);
    users.deleteUser(database, taken);

    injectFault(sandboxUrl, "list_users", 429, "Retry later", "text/plain", "Retry-After", "1");
    ApiException tooMany = refused(429, "list_users", () -> users.listUsers(database));
    check("1".equals(header(tooMany, "Retry-After")), "429: Retry-After " + header(tooMany, "Retry-After"));
    check("Retry later".equals(tooMany.getResponseBody()), "429: body " + tooMany.getResponseBody());

    String page = "<html><body><h1>502 Bad Gateway</h1></body></html>";
    injectFault(sandboxUrl, "list_backups", 502, page, "text/html");
    ApiException badGateway = refused(502, "list_backups", () -> backups.listBackups(database));
    check(page.equals(badGateway.getResponseBody()), "502: body " + badGateway.getResponseBody());

    injectFault(sandboxUrl, "list_backups", 503, "", null);
    ApiException unavailable = refused(503, "list_backups", () -> backups.listBackups(database));
    check(!notEmpty(unavailable.getResponseBody()), "503: body " + unavailable.getResponseBody());

    System.out.printf("java flow: token flow, users, backups and a %d-byte archive, 5 error paths:"
        + " all checks passed%n", bytes.length);
  }

  /** A call of the generated client, for {@link #refused}. */
  @FunctionalInterface
  private interface Call {
    void run() throws ApiException;
  }

  /** Runs a call that must be refused with this status, and returns the refusal. */
  private static ApiException refused(int status, String what, Call call) {
    try {
      call.run();
    } catch (ApiException e) {
      check(e.getCode() == status, what + ": status " + e.getCode() + " instead of " + status
          + " (" + e.getMessage() + ")");
      return e;
    }
    throw new AssertionError(what + ": succeeded instead of answering " + status);
  }

  /** The contract's JSON error body of a refusal, decoded with the generated model. */
  private static ErrorBody errorBody(ApiException e) throws java.io.IOException {
    return ErrorBody.fromJson(e.getResponseBody());
  }

  /** A response header of a refusal. The client hands them over with lower-cased names. */
  private static String header(ApiException e, String name) {
    return e.getResponseHeaders().entrySet().stream()
        .filter(h -> h.getKey().equalsIgnoreCase(name) && !h.getValue().isEmpty())
        .map(h -> h.getValue().get(0)).findFirst().orElse(null);
  }

  /**
   * Makes the sandbox answer the next call of one operation with this status, body, content type
   * (none when null) and headers (name, value, ...). The control route is not in the contract.
   */
  private static void injectFault(String sandboxUrl, String operation, int status, String body,
      String contentType, String... header) throws Exception {
    Map<String, Object> fault = new LinkedHashMap<>();
    fault.put("kind", "status");
    fault.put("status", status);
    fault.put("body", body);
    if (contentType != null) {
      fault.put("content_type", contentType);
    }
    fault.put("headers", header.length == 0 ? List.of() : List.of(List.of(header[0], header[1])));
    String json = new Gson().toJson(Map.of("operation", operation, "times", 1, "fault", fault));
    HttpResponse<String> answer = HttpClient.newHttpClient().send(
        HttpRequest.newBuilder(URI.create(sandboxUrl + "/_sandbox/faults"))
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(json)).build(),
        HttpResponse.BodyHandlers.ofString());
    check(answer.statusCode() / 100 == 2, "fault injection: " + answer.statusCode() + " " + answer.body());
  }

  private static void check(boolean condition, String failure) {
    if (!condition) {
      throw new AssertionError(failure);
    }
  }

  private static boolean notEmpty(String s) {
    return s != null && !s.isEmpty();
  }

  private static List<String> names(List<DatabaseUser> users) {
    return users.stream().map(DatabaseUser::getName).toList();
  }

  private static String env(String name) {
    String value = System.getenv(name);
    check(notEmpty(value), "the environment has no " + name);
    return value;
  }
}
