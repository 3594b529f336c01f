// main.cpp: the `serialgate` command line (docs/cli.md). Parses arguments with CLI11 and hands off
// to one subcommand; exit codes come from exit_codes.h.
#include <fmt/format.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>

#include "app/commands.h"
#include "app/exit_codes.h"
#include "app/realcom_command.h"

#ifndef SG_VERSION
#define SG_VERSION "0.0.0"
#endif

int main(int argc, char** argv) {
    using namespace sg::app;
    CLI::App app{"SerialGate: a security-hardened serial device server"};
    app.require_subcommand(1);
    app.fallthrough();  // global options (--log-level) may follow the subcommand too
    app.set_help_all_flag("--help-all", "Show help for every subcommand");

    std::string log_level = "info";
    app.add_option("--log-level", log_level, "trace, debug, info, warn, error")
        ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));

    ServeOptions serve_o;
    auto* serve = app.add_subcommand("serve", "Run the device server");
    serve->add_option("--data-dir", serve_o.data_dir, "State directory (created 0700)")->required();
    serve->add_option("--config", serve_o.config_file,
                      "Provisioning file: validated and committed before start; re-read on SIGHUP");
    serve->add_flag("--demo", serve_o.demo, "Seed an empty store with the embedded demo ports");
    serve
        ->add_option("--https-port", serve_o.https_port,
                     "HTTPS port of the API and web console (overrides https.port; 0 = any free)")
        ->check(CLI::Range(0, 65535));

    std::string setup_dir, setup_admin;
    bool password_stdin = false;
    auto* setup = app.add_subcommand("setup", "Create the first administrator (offline)");
    setup->add_option("--data-dir", setup_dir, "State directory")->required();
    setup->add_option("--admin", setup_admin, "Account name (1-32: letters, digits, -_.@)")
        ->required();
    setup->add_flag("--password-stdin", password_stdin, "Read the password from standard input");

    auto* config = app.add_subcommand("config", "Validate, export or import a configuration");
    config->require_subcommand(1);
    config->fallthrough();
    std::string validate_file, export_dir, export_out, import_dir, import_file;
    auto* validate = config->add_subcommand("validate", "Check a configuration file");
    validate->add_option("file", validate_file, "YAML file")->required();
    auto* exp = config->add_subcommand("export", "Print the configuration in force");
    exp->add_option("--data-dir", export_dir, "State directory")->required();
    exp->add_option("--output,-o", export_out, "Write to a file (0600) instead of stdout");
    auto* imp = config->add_subcommand("import", "Validate a file and commit it to the store");
    imp->add_option("--data-dir", import_dir, "State directory")->required();
    imp->add_option("file", import_file, "YAML file")->required();

    LogShowOptions log_o;
    auto* log = app.add_subcommand("log", "Read the event log");
    log->require_subcommand(1);
    log->fallthrough();
    auto* show = log->add_subcommand("show", "Print events, oldest first");
    show->add_option("--data-dir", log_o.data_dir, "State directory")->required();
    show->add_option("--category", log_o.category,
                     "system, network, security, maintenance, serial");
    show->add_option("--severity", log_o.severity, "Show this severity and more severe");
    show->add_option("--port", log_o.port, "Serial port number");
    show->add_option("--type", log_o.type, "Event type key, e.g. serial.connected");
    show->add_option("--limit", log_o.limit, "Newest N events (default 1000)");
    show->add_option("--format", log_o.format, "text, csv or json")
        ->check(CLI::IsMember({"text", "csv", "json"}));

    std::string log_status_dir, log_status_format = "text";
    auto* log_status_cmd =
        log->add_subcommand("status", "Rows kept and overwritten per category (AU-3)");
    log_status_cmd->add_option("--data-dir", log_status_dir, "State directory")->required();
    log_status_cmd->add_option("--format", log_status_format, "text or json")
        ->check(CLI::IsMember({"text", "json"}));

    std::string status_dir, status_format = "text";
    auto* status = app.add_subcommand("status", "Port monitor of a running serve");
    status->add_option("--data-dir", status_dir, "State directory of the running serve")
        ->required();
    status->add_option("--format", status_format, "text or json")
        ->check(CLI::IsMember({"text", "json"}));

    RealcomOptions realcom_o;
    auto* realcom = app.add_subcommand(
        "realcom", "Real COM client: a local pty (and --link) for a remote serial port");
    realcom->add_option("--device", realcom_o.device, "Host name or address of the device");
    realcom->add_option("--port", realcom_o.port, "The device's serial port number (1-based)");
    realcom->add_option("--link", realcom_o.link,
                        "Symlink to the pty; a bare name goes to /run/serialgate/");
    realcom->add_option("--data-port", realcom_o.data_port, "Data channel (default 949 + port)");
    realcom->add_option("--command-port", realcom_o.command_port,
                        "Command channel (default 965 + port)");
    realcom
        ->add_option("--data-bits", realcom_o.data_bits,
                     "Data bits sent to the device (a pty cannot carry them; default 8)")
        ->check(CLI::Range(5, 8));
    realcom
        ->add_option("--parity", realcom_o.parity,
                     "Parity sent to the device (a pty cannot carry it; default none)")
        ->check(CLI::IsMember({"none", "odd", "even", "mark", "space"}));
    realcom->add_option("--config", realcom_o.config_file,
                        "YAML list of ports: {device, port, link, data_port, command_port}");
    realcom->add_flag("--tls", realcom_o.tls,
                      "TLS on the data and command channels (Secure Connection)");
    realcom->add_option("--ca", realcom_o.ca_file,
                        "PEM CA certificate(s) the device's certificate must chain to (--tls)");
    realcom->add_option("--cert", realcom_o.cert_file,
                        "PEM client certificate for encrypted_authenticated devices (--tls)");
    realcom->add_option("--key", realcom_o.key_file, "PEM private key of --cert (--tls)");
    realcom->add_flag("--no-verify", realcom_o.no_verify,
                      "TLS without checking the device's certificate (a Warning at every connect)");

    RemoteCaOptions remote_ca_o;
    auto* remote_ca = app.add_subcommand(
        "remote-ca", "The Remote Device Certificate list: CAs trusted for mutual TLS (offline)");
    remote_ca->require_subcommand(1);
    remote_ca->fallthrough();
    remote_ca->add_option("--data-dir", remote_ca_o.data_dir, "State directory")->required();
    auto* ca_list = remote_ca->add_subcommand("list", "Print the list with validity and flags");
    ca_list->add_option("--format", remote_ca_o.format, "text or json")
        ->check(CLI::IsMember({"text", "json"}));
    auto* ca_add = remote_ca->add_subcommand("add", "Add the CA certificate(s) of a PEM file");
    ca_add->add_option("file", remote_ca_o.argument, "PEM file")->required();
    auto* ca_delete = remote_ca->add_subcommand("delete", "Remove a CA by its SHA-256 fingerprint");
    ca_delete->add_option("fingerprint", remote_ca_o.argument, "AB:CD:... (colons optional)")
        ->required();

    std::string hardening_dir, hardening_config;
    auto* hardening = app.add_subcommand(
        "hardening-rules", "Print nftables rules (SYN/UDP rate per source, bad TCP flags, ICMP)");
    hardening->add_option("--data-dir", hardening_dir, "State directory: its configuration");
    hardening->add_option("--config", hardening_config, "YAML file instead of a data directory");

    auto* version = app.add_subcommand("version", "Print the version");

    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        (void)app.exit(e);
        return kExitUsage;
    }

    auto logger = spdlog::stderr_color_mt("serialgate");
    spdlog::set_default_logger(logger);
    spdlog::set_level(spdlog::level::from_str(log_level));
    spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%fZ %^%l%$ %v", spdlog::pattern_time_type::utc);

    if (*serve) return sg::app::serve(serve_o);
    if (*setup) return sg::app::setup(setup_dir, setup_admin, password_stdin);
    if (*validate) return config_validate(validate_file);
    if (*exp) return config_export(export_dir, export_out);
    if (*imp) return config_import(import_dir, import_file);
    if (*show) return log_show(log_o);
    if (*log_status_cmd) return log_status(log_status_dir, log_status_format);
    if (*status) return sg::app::status(status_dir, status_format);
    if (*realcom) return sg::app::realcom(realcom_o);
    if (*hardening) return hardening_rules(hardening_dir, hardening_config);
    if (*remote_ca) {
        remote_ca_o.action = *ca_list ? "list" : *ca_add ? "add" : "delete";
        (void)ca_delete;
        return sg::app::remote_ca(remote_ca_o);
    }
    if (*version) {
        fmt::print("serialgate {}\n", SG_VERSION);
        return kExitOk;
    }
    return kExitUsage;
}
