// serve.cpp: `serialgate serve` — the device. One io_context on the main thread (docs/adr/0001):
// the port manager, signal handling (SIGTERM/SIGINT stop, SIGHUP re-reads --config) and a watcher
// that picks up commits other processes make to the store (`config import`, `setup`) all run there.
// The ports run on the data plane's io_context, each on its own strand, run by system.io_threads
// threads (docs/adr/0012-scale-io-threads.md): nothing on the main thread waits on a busy port.
#include <fcntl.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <filesystem>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

#include "app/commands.h"
#include "app/common.h"
#include "app/control.h"
#include "app/exit_codes.h"
#include "app/services.h"
#include "core/asio.h"
#include "core/files.h"
#include "core/io_pool.h"
#include "core/memory.h"
#include "core/sockets.h"
#include "events/audit.h"
#include "events/log.h"
#include "port/manager.h"
#include "security/accounts/accounts.h"
#include "security/accounts/password.h"
#include "security/certs/cert_store.h"
#include "security/certs/certificate.h"
#include "security/certs/tls_contexts.h"
#include "web/api/api.h"
#include "web/api/certificates.h"
#include "web/console/assets.h"
#include "web/http/server.h"

#ifndef SG_VERSION
#define SG_VERSION "0.0.0"
#endif

namespace sg::app {

namespace {

constexpr std::size_t kMaxConfigBytes = 1 << 20;

/// system.io_threads: 0 = one per core (hardware_concurrency, at least 1).
unsigned io_threads(unsigned configured) {
    if (configured != 0) return std::min(configured, config::kMaxIoThreads);
    return std::clamp(std::thread::hardware_concurrency(), 1U, config::kMaxIoThreads);
}
// How often the store is checked for commits by other processes: cheap (one PRAGMA).
constexpr std::chrono::milliseconds kStoreWatchInterval{500};
// Expired web sessions are ended and logged this often; the certificate is checked every
// kCertificateCheckTicks ticks (CE-1: the host's addresses may change under us).
constexpr std::chrono::seconds kHousekeepingInterval{5};
constexpr int kCertificateCheckTicks = 12;
// The free heap the start left behind is given back this long after it (core/memory.h).
constexpr std::chrono::milliseconds kStartTrimDelay{300};
// The Remote Device Certificate list's expiry is checked (and a Warning logged for each CA that
// expired or expires within 30 days) at start, on each change, and once a day.
constexpr int kCaExpiryCheckTicks = 24 * 3600 / 5;
// An API handler waits this long for the io thread (config commit, port status), looking every
// kIoPoll whether the io thread has stopped (then what it posted will never run).
constexpr std::chrono::seconds kIoWait{15};
constexpr std::chrono::milliseconds kIoPoll{50};

class Server final : public web::api::Device {
public:
    Server(const ServeOptions& o, store::Store& store, events::Log& log, config::Config cfg,
           std::int64_t revision)
        : options_(o),
          store_(store),
          log_(log),
          config_(std::move(cfg)),
          revision_(revision),
          signals_(io_, SIGTERM, SIGINT, SIGHUP),
          watch_timer_(io_),
          allowlist_(log),
          manager_(io_, log, &allowlist_, &tls_contexts_, &dos_policy_, &data_pool_),
          control_(io_, std::filesystem::path(o.data_dir) / "control.sock",
                   [this](const std::string& request) { return control(request); }),
          snapshot_(std::make_shared<const config::Config>(config_)),
          api_(*this, store, log),
          // NE-5/NE-6 bounds from https.dos, taken once: like the rest of https, a change applies
          // at the next start (the API says restart_required).
          http_(
              web_io_,
              [this](web::http::Request&& req, const web::http::Peer& peer) {
                  // The console's own files (issue 13) first; everything else is the API's.
                  if (auto file = web::console::serve(req)) return std::move(*file);
                  return api_.handle(std::move(req), peer);
              },
              web::http::limits_from(config_.https.dos)),
          housekeeping_(io_) {
        security::accounts::set_argon2_parallelism(config_.https.dos.argon2_parallel);
        // NE-2: one allowlist for every listener, in force before any of them listens.
        allowlist_.set(config_.allowlist);
        http_.set_allowlist(&allowlist_);
        http_.set_events(&log_);  // AU-2: the management plane's DoS refusals
        // Guide §3.7: the data plane's per-source bounds, in force before any port listens.
        dos_policy_.set(config_.serial_dos);
    }

    // ---- web::api::Device (called on the HTTP handler pool)
    std::shared_ptr<const config::Config> config() override {
        std::lock_guard lock(snapshot_mu_);
        return snapshot_;
    }

    core::Result<std::int64_t> commit(config::Config next, const events::Fields& who) override {
        auto done = std::make_shared<std::promise<core::Result<std::int64_t>>>();
        auto fut = done->get_future();
        asio::post(io_, [this, done, next = std::move(next), source = who.source]() mutable {
            if (stopping_) {
                done->set_value(core::make_error(core::Errc::busy, "SerialGate is stopping"));
                return;
            }
            auto rev = store_.save_config(config::to_yaml(next));
            if (!rev) {
                done->set_value(rev.error());
                return;
            }
            revision_ = *rev;
            set_config(std::move(next));
            manager_.apply(config_, data_plane_on_);
            done->set_value(*rev);
        });
        if (!answered(fut)) {
            if (io_.stopped()) return core::make_error(core::Errc::busy, "SerialGate is stopping");
            return core::make_error(core::Errc::busy, "the device did not answer in time");
        }
        return fut.get();
    }

    nlohmann::json status() override {
        auto done = std::make_shared<std::promise<nlohmann::json>>();
        auto fut = done->get_future();
        asio::post(io_, [this, done] {
            done->set_value(status_json(config_, data_plane_on_, manager_.status()));
        });
        if (!answered(fut)) return {{"error", "busy"}};
        return fut.get();
    }

    void accounts_changed() override {
        asio::post(io_, [this] { check_first_account(); });
    }

    /// Returns once new connections get the new certificate: the API's 200 means "in force".
    /// Every TLS endpoint (HTTPS, the serial ports' Secure Connection, the TLS clients) takes it
    /// from tls_contexts_ (TLS-5); serial ports read it at each accept and connect.
    void certificate_changed() override {
        if (!load_certificate()) return;
        if (!https_on_) return;
        auto applied = std::make_shared<std::promise<void>>();
        auto fut = applied->get_future();
        http_.set_tls_context(tls_contexts_.server(false), [applied] { applied->set_value(); });
        (void)fut.wait_for(kIoWait);
    }

    nlohmann::json services() override {
        return services_json(*config(), core::own_bound_sockets(),
                             https_on_ ? http_.local_port() : 0,
                             https_on_ ? http_.redirect_port() : 0,
                             (std::filesystem::path(options_.data_dir) / "control.sock").string());
    }

    config::ParseOptions parse_options() override { return app::parse_options(); }
    std::string version() override { return SG_VERSION; }
    std::shared_ptr<modes::common::TapSubscription> monitor(std::uint32_t port,
                                                            std::string& why) override {
        return manager_.monitor().subscribe(port, why);  // thread-safe (issue 13)
    }

    int run() {
        spdlog::info("data plane: {} io thread(s) (system.io_threads {})", data_threads_,
                     config_.system.io_threads);
        data_pool_.start();
        // Before any port starts: any serial port may use Secure Connection, HTTPS on or off.
        ensure_certificate();
        check_syn_cookies(log_);  // NE-7
        apply_trusted();
        data_plane_on_ = accounts_exist();
        if (!data_plane_on_) announce_data_plane_off();
        manager_.apply(config_, data_plane_on_);
        print_summary();
        start_https();
        if (auto st = control_.start(); !st) {
            spdlog::warn("{} (`serialgate status` will not reach this serve)", st.error().message);
        }
        // What the start parsed and built is free once the ports have started (the configuration
        // twice, YAML trees, validation): given back then, so that RSS is what the device uses
        // (issue 12 item 1); not at once, while the data threads allocate the ports' state.
        trim_timer_.expires_after(kStartTrimDelay);
        trim_timer_.async_wait([](boost::system::error_code ec) {
            if (!ec) core::release_free_heap();
        });
        wait_signal();
        data_version_ = store_.data_version();
        watch();
        housekeeping(0);
        auto web_guard = asio::make_work_guard(web_io_);
        std::thread web_thread([this] {
            // Below the data plane: under CPU contention the serial bytes go first.
            (void)::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), 5);
            web_io_.run();
        });
        // The ports' work is on data_pool_: without a guard io_ could run out of work during a
        // stop (signals, timers and control all cancelled) and return before the ports drained.
        auto io_guard = asio::make_work_guard(io_);
        io_.run();
        // Every port has stopped (Manager::stop's done runs before io_.stop()).
        data_pool_.stop();
        web_guard.reset();
        web_io_.stop();
        web_thread.join();
        return exit_code_;
    }

private:
    /// Waits for what a handler posted to the io thread: true once answered; false after kIoWait,
    /// or at once when the io thread has stopped (a request racing SIGTERM: the posted work was
    /// dropped with the queue, and waiting on would only hold up the stop).
    template <class T>
    bool answered(std::future<T>& fut) const {
        const auto deadline = std::chrono::steady_clock::now() + kIoWait;
        while (fut.wait_for(kIoPoll) != std::future_status::ready) {
            if (io_.stopped() || std::chrono::steady_clock::now() >= deadline) {
                return fut.wait_for(std::chrono::seconds(0)) == std::future_status::ready;
            }
        }
        return true;
    }

    void set_config(config::Config cfg) {
        const bool trusted_changed = cfg.remote_certificates != config_.remote_certificates;
        config_ = std::move(cfg);
        trim_due_ = true;  // the parse of `cfg` is garbage now: housekeeping gives it back
        if (trusted_changed) apply_trusted();
        log_.set_settings(config_.event_log);
        if (allowlist_.set(config_.allowlist)) {
            // NE-4: in force for new connections from now on; what is established from a source
            // no longer allowed is closed now (serial sessions on their strands, HTTPS
            // connections on theirs, web sessions by their login source).
            manager_.revoke();
            http_.revoke();
            api_.end_sessions_outside(*allowlist_.current());
        }
        // Guide §3.7: live, each port's next connection or datagram is judged by the new bounds.
        dos_policy_.set(config_.serial_dos);
        // Live, like the per-session bucket and the Argon2id wait, which the API reads per request.
        security::accounts::set_argon2_parallelism(config_.https.dos.argon2_parallel);
        std::lock_guard lock(snapshot_mu_);
        snapshot_ = std::make_shared<const config::Config>(config_);
    }

    /// The management plane: HTTPS with the stored certificate (generated at first start).
    void start_https() {
        if (!config_.https.enabled) {
            spdlog::info("HTTPS API off (https.enabled: false)");
            return;
        }
        if (!security::accounts::blocklist_dictionary_available()) {
            spdlog::warn(
                "cracklib dictionary {} not readable: new passwords are checked without it "
                "(PW-3; install cracklib-runtime)",
                security::accounts::default_blocklist_dictionary());
        }
        auto tls = tls_contexts_.server(false);
        if (!tls) {
            spdlog::error("HTTPS off: no usable certificate");
            return;
        }
        const auto port = options_.https_port >= 0 ? static_cast<std::uint16_t>(options_.https_port)
                                                   : config_.https.port;
        if (auto st = http_.start(config_.https.listen_address, port, tls); !st) {
            log_.emit(events::types::kConfigRejected, {.source = "https"},
                      fmt::format("HTTPS cannot listen on {}:{}: {}", config_.https.listen_address,
                                  port, st.error().message));
            spdlog::error("HTTPS cannot listen on {}:{}: {}", config_.https.listen_address, port,
                          st.error().message);
            return;
        }
        https_on_ = true;
        spdlog::info("HTTPS API on https://{}:{}/api/v1/", config_.https.listen_address,
                     http_.local_port());
        if (config_.https.http_redirect) {
            if (auto st = http_.start_redirect(config_.https.listen_address,
                                               config_.https.http_port, http_.local_port());
                !st) {
                spdlog::error("HTTP redirect cannot listen on port {}: {}", config_.https.http_port,
                              st.error().message);
            }
        }
    }

    /// CE-1 at start: the system certificate exists (generated at first start, renewed when
    /// due) and is in force in tls_contexts_, whether HTTPS is on or not.
    void ensure_certificate() {
        if (auto made = web::api::ensure_system_certificate(store_, log_, core::now_utc_us());
            !made) {
            spdlog::error("no device certificate: {}", made.error().message);
        }
        (void)load_certificate();
    }

    /// The stored certificate into every TLS context (TLS-5). An error keeps the contexts in force.
    bool load_certificate() {
        auto stored = security::certs::load(store_);
        if (stored && !stored->has_value()) {
            stored = core::make_error(core::Errc::not_found, "no certificate stored");
        }
        if (!stored) {
            spdlog::error("certificate not loaded: {}", stored.error().message);
            return false;
        }
        const auto& pair = (*stored)->pair;
        if (auto st = tls_contexts_.set_certificate(pair.cert_pem, pair.key_pem); !st) {
            spdlog::error("certificate not loaded: {}", st.error().message);
            return false;
        }
        return true;
    }

    /// CE-5: the Remote Device Certificate list in force for new TLS connections (mutual TLS
    /// servers and every TLS client); established ones keep theirs. The list was checked when it
    /// was committed; an error here keeps the list in force.
    void apply_trusted() {
        std::string bundle;
        for (const auto& pem : config_.remote_certificates) bundle += pem + "\n";
        if (auto st = tls_contexts_.set_trusted(bundle); !st) {
            spdlog::error("Remote Device Certificate list not applied: {}", st.error().message);
        }
        check_ca_expiry(false);
    }

    /// A Warning per CA of the list that has expired or expires within 30 days: when its state
    /// is new (start, a change, crossing into "expiring" or "expired"), and again once a day
    /// (`daily`), never at every tick.
    void check_ca_expiry(bool daily) {
        const auto now = core::now_utc_us();
        std::map<std::string, security::certs::CaExpiry> seen;
        for (const auto& ca : security::certs::describe_remote_cas(config_.remote_certificates)) {
            const auto e = security::certs::ca_expiry(ca.info, now);
            seen[ca.info.fingerprint_sha256] = e;
            if (e == security::certs::CaExpiry::Valid) continue;
            const auto before = ca_expiry_.find(ca.info.fingerprint_sha256);
            if (!daily && before != ca_expiry_.end() && before->second == e) continue;
            log_.emit(events::types::kRemoteCaExpiry, {.source = "system"},
                      fmt::format("'{}' ({}) {} {}", ca.info.subject, ca.info.fingerprint_sha256,
                                  e == security::certs::CaExpiry::Expired ? "expired" : "expires",
                                  ca.info.not_after));
        }
        ca_expiry_ = std::move(seen);
    }

    void reload_tls() {
        if (!load_certificate() || !https_on_) return;
        http_.set_tls_context(tls_contexts_.server(false));
    }

    /// Ends expired sessions; writes the due summaries of rate-limited events; checks the system
    /// certificate against the host's addresses.
    void housekeeping(int tick) {
        housekeeping_.expires_after(kHousekeepingInterval);
        housekeeping_.async_wait([this, tick](boost::system::error_code ec) {
            if (ec || stopping_) return;
            api_.purge_sessions();
            log_.emit_summaries();  // rate-limited events whose minute is over (issue 14)
            // A configuration applied since the last tick left its parse behind (memory.h).
            if (std::exchange(trim_due_, false)) core::release_free_heap();
            if (tick % kCaExpiryCheckTicks == kCaExpiryCheckTicks - 1) check_ca_expiry(true);
            if (tick % kCertificateCheckTicks == kCertificateCheckTicks - 1) {
                auto made = web::api::ensure_system_certificate(store_, log_, core::now_utc_us());
                if (made && *made) reload_tls();
            }
            housekeeping(tick + 1);
        });
    }

    void check_first_account() {
        if (!data_plane_on_ && accounts_exist()) {
            data_plane_on_ = true;
            log_.emit(events::types::kDataPlaneOn, {});
            manager_.apply(config_, true);
            print_summary();
        }
    }

    bool accounts_exist() {
        security::accounts::Accounts accounts(store_);
        auto n = accounts.count();
        return n && *n > 0;
    }

    void announce_data_plane_off() {
        log_.emit(events::types::kDataPlaneOff, {},
                  "no operation mode listens until the first administrator exists (guide §3)");
        spdlog::warn(
            "next step: create the first administrator, e.g.\n"
            "    serialgate setup --data-dir {} --admin admin --password-stdin\n"
            "  (the password is read from standard input); ports start within a second",
            options_.data_dir);
    }

    void print_summary() {
        if (config_.ports.empty()) {
            spdlog::info("no serial ports configured (add some with --config or `config import`)");
        }
        for (const auto& p : config_.ports) {
            std::string what = config::mode_type_name(p.mode);
            if (const auto* t = std::get_if<config::TcpServerSettings>(&p.mode)) {
                what += fmt::format(" on {}:{}", config_.system.listen_address, t->local_port);
            }
            spdlog::info("port {} ({}): {}{}", p.number, p.device, what,
                         data_plane_on_ ? "" : " [off: no account yet]");
        }
    }

    void wait_signal() {
        signals_.async_wait([this](boost::system::error_code ec, int sig) {
            if (ec) return;
            if (sig == SIGHUP) {
                reload_file();
                wait_signal();
                return;
            }
            spdlog::info("signal {}: stopping (clients drained, store flushed)", sig);
            stop();
        });
    }

    void stop() {
        if (stopping_) return;
        stopping_ = true;
        watch_timer_.cancel();
        housekeeping_.cancel();
        trim_timer_.cancel();
        control_.stop();
        manager_.stop([this] {
            http_.stop([this] {  // runs on the web thread
                asio::post(io_, [this] {
                    signals_.cancel();
                    io_.stop();
                });
            });
        });
    }

    nlohmann::json control(const std::string& request) {
        if (request == "status") return status_json(config_, data_plane_on_, manager_.status());
        return {{"error", "unknown request '" + request.substr(0, 32) + "'; known: status"}};
    }

    /// SIGHUP: re-read --config. An invalid file changes nothing (the old configuration stays).
    void reload_file() {
        if (options_.config_file.empty()) {
            spdlog::info("SIGHUP: no --config file; re-reading the store");
            reload_store(true);
            return;
        }
        auto text = core::read_file(options_.config_file, kMaxConfigBytes);
        if (!text) {
            log_.emit(events::types::kConfigRejected, {.source = "SIGHUP"}, text.error().message);
            return;
        }
        auto cfg = config::load_yaml(*text, options_.config_file, parse_options());
        if (!cfg) {
            log_.emit(events::types::kConfigRejected, {.source = "SIGHUP"}, cfg.error().message);
            return;
        }
        if (*cfg == config_) {
            spdlog::info("SIGHUP: {} unchanged", options_.config_file);
            return;
        }
        auto rev = store_.save_config(config::to_yaml(*cfg));
        if (!rev) {
            log_.emit(events::types::kConfigRejected, {.source = "SIGHUP"}, rev.error().message);
            return;
        }
        revision_ = *rev;
        // AU-3, issue 14 item 7: recorded under the settings in force before the file.
        if (auto audit = events::audit_changes(config_.event_log, cfg->event_log); !audit.empty()) {
            log_.emit(events::types::kPolicyChanged, {.source = "SIGHUP"},
                      fmt::format("event_log.types: {} ({})",
                                  events::describe_audit_changes(audit, cfg->event_log),
                                  options_.config_file));
        }
        adopt(std::move(*cfg), "SIGHUP: " + options_.config_file, /*writer_audited=*/false);
    }

    /// `writer_audited`: the process that wrote the configuration to the store (`config import`,
    /// `remote-ca`) recorded what it changed already (audit_local_change); serve records it for
    /// what it read itself (SIGHUP), so that each change is in the log once.
    void adopt(config::Config cfg, const std::string& source, bool writer_audited) {
        if (!writer_audited) audit_local_change(log_, config_, cfg, source, revision_);  // AU-2
        set_config(std::move(cfg));
        log_.emit(events::types::kConfigChanged, {.source = source},
                  fmt::format("revision {}", revision_));
        manager_.apply(config_, data_plane_on_);
    }

    void reload_store(bool force) {
        std::int64_t rev = 0;
        auto cfg = load_config(store_, &rev);
        if (!cfg) {
            log_.emit(events::types::kConfigRejected, {.source = "store"}, cfg.error().message);
            return;
        }
        if (force || rev != revision_) {
            revision_ = rev;
            if (!(*cfg == config_)) adopt(std::move(*cfg), "store", /*writer_audited=*/true);
        }
    }

    /// Another process committed to the store: a new configuration, or the first account.
    void watch() {
        watch_timer_.expires_after(kStoreWatchInterval);
        watch_timer_.async_wait([this](boost::system::error_code ec) {
            if (ec || stopping_) return;
            const auto v = store_.data_version();
            if (v != data_version_) {
                data_version_ = v;
                reload_store(false);
                check_first_account();
            }
            watch();
        });
    }

    const ServeOptions& options_;
    store::Store& store_;
    events::Log& log_;
    config::Config config_;
    std::int64_t revision_;
    asio::io_context io_{1};
    // The data plane: data_threads_ io_contexts (system.io_threads, taken at start), each run by
    // a thread of its own; every port's strand on one of them for its life (ADR 0012, 0015).
    unsigned data_threads_ = io_threads(config_.system.io_threads);
    core::IoPool data_pool_{data_threads_};
    bool trim_due_ = false;  // a configuration was applied since housekeeping last trimmed
    asio::steady_timer trim_timer_{io_};  // the trim after the start (kStartTrimDelay)
    // The management plane's own io_context and thread (ADR 0004): TLS handshakes and HTTP
    // parsing never run on the data plane's thread.
    asio::io_context web_io_{1};
    asio::signal_set signals_;
    asio::steady_timer watch_timer_;
    // TLS-5: the one source of TLS contexts for HTTPS, every port and every TLS client; before
    // the manager, so it outlives every port.
    security::certs::TlsContexts tls_contexts_;
    // The expiry state last logged per CA fingerprint (check_ca_expiry).
    std::map<std::string, security::certs::CaExpiry> ca_expiry_;
    security::allowlist::Gate allowlist_;  // NE-2: shared by every port and the HTTPS server
    security::dos::Policy dos_policy_;     // guide §3.7: serial_dos, read by every port's gate
    port::Manager manager_;
    ControlServer control_;
    std::mutex snapshot_mu_;
    std::shared_ptr<const config::Config> snapshot_;  // what API handlers read
    web::api::Api api_;
    web::http::Server http_;
    asio::steady_timer housekeeping_;
    std::atomic<bool> https_on_{false};  // read by API handlers (certificate_changed)
    std::int64_t data_version_ = 0;
    bool data_plane_on_ = false;
    bool stopping_ = false;
    int exit_code_ = kExitOk;
};

}  // namespace

int serve(const ServeOptions& o) {
    ::umask(077);  // every file we create is private (issue 3 §4)
    // Block the handled signals early so none kills us between here and the signal_set.
    int rc = 0;
    auto store = open_store(o.data_dir, rc);
    if (!store) return rc;
    // One serve per data directory: a second would fight the first for devices and TCP ports.
    // The lock is released by the kernel however this process ends, kill -9 included.
    const std::string lock_path = (std::filesystem::path(o.data_dir) / "serve.lock").string();
    const int lock_fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (lock_fd < 0 || ::flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
        fmt::print(stderr, "serialgate: {} is in use by another `serialgate serve`\n", o.data_dir);
        if (lock_fd >= 0) ::close(lock_fd);
        return kExitStore;
    }

    // Cold start (issue 12 item 4): the --config file is parsed on a thread of its own while the
    // stored configuration is read and parsed here. Two yaml-cpp parses of the same 256-port
    // configuration were the largest serial part of a start; neither touches the other's data.
    std::optional<core::Result<std::string>> file_text;
    std::future<config::ParseResult> file_parse;
    if (!o.config_file.empty()) {
        file_text = core::read_file(o.config_file, kMaxConfigBytes);
        if (*file_text) {
            file_parse = std::async(std::launch::async, [&text = **file_text] {
                return config::parse_yaml(text, parse_options());
            });
        }
    }

    std::int64_t revision = 0;
    auto cfg = load_config(*store, &revision);
    if (!cfg) {
        spdlog::error("{}", cfg.error().message);
        return kExitStore;
    }
    events::Log log(*store, cfg->event_log);

    if (!o.config_file.empty()) {
        // Provisioning: the file is validated whole, then committed in one transaction.
        const auto& text = *file_text;
        if (!text) {
            fmt::print(stderr, "serialgate: {}\n", text.error().message);
            return kExitInvalid;
        }
        auto res = file_parse.get();
        if (!res.config) {
            for (const auto& p : res.problems) {
                fmt::print(stderr, "{}\n", config::format_problem(o.config_file, p));
            }
            fmt::print(stderr, "serialgate: {} refused; nothing applied\n", o.config_file);
            return kExitInvalid;
        }
        if (!(*res.config == *cfg) || revision == 0) {
            auto rev = store->save_config(config::to_yaml(*res.config));
            if (!rev) {
                fmt::print(stderr, "serialgate: {}\n", rev.error().message);
                return kExitStore;
            }
            revision = *rev;
            // AU-3, issue 14 item 7: recorded under the settings in force before the file.
            if (auto audit = events::audit_changes(cfg->event_log, res.config->event_log);
                !audit.empty()) {
                log.emit(events::types::kPolicyChanged, {.source = o.config_file},
                         fmt::format("event_log.types: {}",
                                     events::describe_audit_changes(audit, res.config->event_log)));
            }
            audit_local_change(log, *cfg, *res.config, o.config_file, revision);  // AU-2
            *cfg = std::move(*res.config);
            log.set_settings(cfg->event_log);
            log.emit(events::types::kConfigChanged, {.source = o.config_file},
                     fmt::format("revision {}", revision));
        }
    } else if (o.demo && revision == 0) {
        auto demo = config::load_yaml(demo_config_yaml(), "(embedded demo)", parse_options());
        SG_ASSERT(demo.ok());
        auto rev = store->save_config(config::to_yaml(*demo));
        if (!rev) {
            fmt::print(stderr, "serialgate: {}\n", rev.error().message);
            return kExitStore;
        }
        revision = *rev;
        *cfg = std::move(*demo);
        log.emit(events::types::kConfigChanged, {.source = "demo"}, "embedded demo configuration");
    }

    log.emit(events::types::kStart, {}, fmt::format("data directory {}", o.data_dir));
    int code = kExitOk;
    {
        Server server(o, *store, log, std::move(*cfg), revision);
        code = server.run();
    }
    log.emit_summaries(true);  // nothing emits any more: every held count is written (issue 14)
    log.emit(events::types::kStop, {});
    log.flush();
    return code;
}

const char* demo_config_yaml() {
    return R"(# The demo device: four simulated serial ports in TCP Server mode on loopback.
system: {device_name: SerialGate-demo, listen_address: 127.0.0.1}
https: {listen_address: 127.0.0.1, port: 8443}
ports:
  - port: 1
    alias: echo
    device: sim:echo
    serial: {baud: 115200, flow_control: none}
    mode: {type: tcp_server, local_port: 4001, max_connections: 4}
  - port: 2
    alias: meter
    device: sim:generator:1000
    serial: {baud: 9600, flow_control: none}
    mode: {type: tcp_server, local_port: 4002, max_connections: 8, delimiter_1: 0x0a}
  - port: 3
    alias: cable-a
    device: sim:null-modem:demo
    serial: {baud: 115200, flow_control: none}
    mode: {type: tcp_server, local_port: 4003, max_connections: 2}
  - port: 4
    alias: cable-b
    device: sim:null-modem:demo
    serial: {baud: 115200, flow_control: none}
    mode: {type: tcp_server, local_port: 4004, max_connections: 2}
)";
}

}  // namespace sg::app
