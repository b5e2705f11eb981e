// Every operation Tokentray's engine offers, in one place: its wire name, who may call it, its
// arguments, its answer and the function that performs it. `ops/mod.rs` expands this into the
// typed `Op` request, the answer types and the dispatch; the app's build script (which
// `include!`s this file with a macro of its own) reads only the names and audiences, to declare
// the dashboard's commands and generate its capability. `Dashboard` operations may be called
// from the dashboard page (none answers a secret); `Socket` ones only by the CLI and tools.

operations! {
    /// Is anyone there? Answers the engine's kind, pid, version and protocol.
    Ping "ping" [Socket] {} -> PingInfo = desktop::ping;
    /// A second launch hands over: the host shows its GUI if it has one.
    Activate "activate" [Socket] {
        /// Open the dashboard (false for `--minimized`).
        open_dashboard: bool,
    } -> () = desktop::activate;
    /// Stream every engine event from now on, one JSON line each, until the client hangs up.
    /// Only the socket can stream; everywhere else it is refused.
    Subscribe "subscribe" [Socket] {} -> () = desktop::subscribe;
    /// Re-read the settings file (after it was edited by hand).
    Reload "reload" [Socket] {} -> () = desktop::reload;
    /// The status snapshot: every account's state, no secrets.
    Status "status" [Dashboard] {} -> Status = accounts::status;
    /// The last `hours` (at most 72) of history, of one account or of all.
    History "history" [Dashboard] {
        /// The account, or every account.
        #[serde(default)]
        account: Option<String>,
        /// How far back.
        hours: u32,
    } -> HistoryPage = accounts::history;
    /// The user's pause or resume of one account, or of all.
    SetPaused "set_paused" [Dashboard] {
        /// The account; none for every account.
        #[serde(default)]
        account: Option<String>,
        /// True to pause, false to resume.
        paused: bool,
    } -> Changed = accounts::set_paused;
    /// A fresh access token and its expiry: the account's own, or one for other scopes or a
    /// resource, valid for at least the request's minimum.
    Token "token" [Socket] {
        /// The account.
        account: String,
        /// Scopes, resource and minimum lifetime (none: the account's own token).
        #[serde(flatten)]
        request: TokenRequest,
        /// The command `tokentray exec` will run with the token (its full path): the caller a
        /// person is asked about. Heeded only from Tokentray's own CLI.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        on_behalf_of: Option<String>,
    } -> Credential = accounts::token;
    /// A server rejected this access token (git's `erase`): mark the account stale and find
    /// another token.
    Rejected "rejected" [Socket] {
        /// The account.
        account: String,
        /// The rejected access token.
        #[serde(with = "crate::secret::exposed")]
        token: Secret,
        /// What the token was asked for (a rejected variant is minted again).
        #[serde(flatten)]
        request: TokenRequest,
    } -> Credential = accounts::rejected;
    /// One refresh attempt now, and its outcome.
    Refresh "refresh" [Dashboard] {
        /// The account.
        account: String,
    } -> RefreshReport = accounts::refresh;
    /// Puts the account's token on the clipboard (cleared after two minutes) from the engine's
    /// process, so the page never holds it.
    CopyToken "copy_token" [Dashboard] {
        /// The account.
        account: String,
    } -> () = accounts::copy_token;
    /// Start a sign-in (or find the one waiting): what to show the person.
    Login "login" [Socket] {
        /// The account.
        account: String,
        /// Browser, device, or whichever the provider has.
        #[serde(default)]
        method: LoginMethod,
    } -> LoginPrompt = sign_in::login;
    /// Wait for the account's sign-in in progress to end (up to its deadline).
    LoginWait "login_wait" [Socket] {
        /// The account.
        account: String,
    } -> LoginOutcome = sign_in::login_wait;
    /// The dashboard's sign-in: starts it and opens its page from the engine's process; the
    /// outcome arrives as a `login_finished` event.
    SignIn "sign_in" [Dashboard] {
        /// The account.
        account: String,
        /// Use the device flow.
        #[serde(default)]
        device: bool,
    } -> SignInView = sign_in::sign_in;
    /// Store tokens got elsewhere: the token endpoint's JSON answer, or a bare refresh token.
    Import "import" [Socket] {
        /// The account.
        account: String,
        /// The tokens.
        #[serde(with = "crate::secret::exposed")]
        tokens: Secret,
    } -> () = sign_in::import;
    /// Sign an account out: revoke where the provider can and delete its secrets. The account
    /// stays in the settings.
    Forget "forget" [Socket] {
        /// The account.
        account: String,
    } -> () = sign_in::forget;
    /// Add an account, with a provider of its own (the wizard: a preset or an issuer and a
    /// client id) or one already in the settings.
    AddAccount "add_account" [Dashboard] {
        /// One word, such as work-github.
        name: String,
        /// Where its provider comes from.
        source: ProviderSource,
        /// The OAuth client id (not for an existing provider).
        #[serde(default)]
        client_id: Option<String>,
        /// Scopes instead of the provider's defaults.
        #[serde(default)]
        scopes: Vec<String>,
        /// Git hosts the account answers for in the credential helper.
        #[serde(default)]
        git_hosts: Vec<String>,
        /// The username git gets with the token.
        #[serde(default)]
        git_username: Option<String>,
    } -> () = settings_edits::add_account;
    /// Change an account's options (what the git helper answers with); options not given stay
    /// as they are, an empty one is cleared.
    SetAccount "set_account" [Socket] {
        /// The account.
        account: String,
        /// The options to change.
        #[serde(flatten)]
        options: AccountOptions,
    } -> () = settings_edits::set_account;
    /// Allow programs to have an account's token ahead, or take that back: the account's
    /// always-allowed programs afterwards.
    SetCallers "set_callers" [Socket] {
        /// The account.
        account: String,
        /// Executable paths to allow.
        #[serde(default)]
        allow: Vec<String>,
        /// Executable paths to take off the list.
        #[serde(default)]
        revoke: Vec<String>,
    } -> Vec<String> = settings_edits::set_callers;
    /// Take a program off an account's always-allowed list (the dashboard's Revoke).
    RevokeCaller "revoke_caller" [Dashboard] {
        /// The account.
        account: String,
        /// The program's executable path.
        program: String,
    } -> Vec<String> = settings_edits::revoke_caller;
    /// Sign the account out, delete its secrets, and remove it and its jobs from the settings.
    RemoveAccount "remove_account" [Dashboard] {
        /// The account.
        account: String,
    } -> () = settings_edits::remove_account;
    /// Add an OAuth provider. A client secret goes to the keychain, never to the file.
    AddProvider "add_provider" [Socket] {
        /// The provider's name.
        name: String,
        /// Where its endpoints come from.
        source: ProviderSource,
        /// The OAuth client id.
        client_id: String,
        /// Scopes instead of the defaults.
        #[serde(default)]
        scopes: Vec<String>,
        /// The device authorization endpoint, instead of the discovered one.
        #[serde(default)]
        device_url: Option<String>,
        /// The revocation endpoint, instead of the discovered one.
        #[serde(default)]
        revoke_url: Option<String>,
        /// The client secret, if the client has one.
        #[serde(default, with = "crate::secret::exposed_option")]
        client_secret: Option<Secret>,
    } -> ProviderSettings = settings_edits::add_provider;
    /// The well-known providers' names.
    Presets "presets" [Dashboard] {} -> Vec<String> = settings_edits::presets;
    /// The endpoints a preset or an issuer's discovery document gives, for the wizard to show.
    Discover "discover" [Dashboard] {
        /// The preset or issuer.
        source: ProviderSource,
    } -> Endpoints = settings_edits::discover;
    /// Add a warm-up job, or change the one of that name (unless `new`). An edit keeps the
    /// headers, body and URL query the page never sees.
    SaveJob "save_job" [Dashboard] {
        /// The job.
        job: JobSettings,
        /// Refuse to replace a job of the same name.
        #[serde(default)]
        new: bool,
    } -> () = settings_edits::save_job;
    /// Remove a warm-up job.
    RemoveJob "remove_job" [Dashboard] {
        /// The job's name.
        name: String,
    } -> () = settings_edits::remove_job;
    /// Run a warm-up job now.
    RunJob "run_job" [Dashboard] {
        /// The job's name.
        name: String,
    } -> () = settings_edits::run_job;
    /// Overrule the class of a provider's error code (its word on what the code means wins over
    /// the built-in table and the provider's description); no class puts the table back.
    SetClass "set_class" [Dashboard] {
        /// The provider, as named in the settings.
        provider: String,
        /// The error code, as the status shows it.
        code: String,
        /// `permanent`, `transient` or `config`; none to forget the override.
        #[serde(default)]
        class: Option<FailureClass>,
    } -> () = settings_edits::set_class;
    /// Turn the desktop notification of a failure class on or off.
    SetNotify "set_notify" [Dashboard] {
        /// `permanent` or `config`.
        class: FailureClass,
        /// On or off.
        on: bool,
    } -> () = settings_edits::set_notify;
    /// The app's own settings and where its files are.
    AppSettings "app_settings" [Dashboard] {} -> AppSettingsView = desktop::app_settings;
    /// Launch the tray app at login, or not.
    SetAutostart "set_autostart" [Dashboard] {
        /// On or off.
        on: bool,
    } -> () = desktop::set_autostart;
    /// Open the log folder in the file manager.
    OpenLogFolder "open_log_folder" [Dashboard] {} -> () = desktop::open_log_folder;
}
