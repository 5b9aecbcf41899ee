//! The `jieyue` command line.

pub mod distribution;
pub mod ingest;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};

use crate::clock::SystemClock;
use crate::config::Config;
use crate::startup::{Application, shutdown_signal};
use crate::{demo, telemetry};

/// Jieyue (借阅): e-book lending with DRM for a library consortium.
#[derive(Debug, Parser)]
#[command(name = "jieyue", version, about)]
pub struct Cli {
    /// A TOML configuration file; `JIEYUE_*` environment variables override it.
    #[arg(long, short, global = true, env = "JIEYUE_CONFIG")]
    pub config: Option<PathBuf>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the lending server.
    Serve {
        /// Create a key ring if there is none (otherwise the server refuses to start).
        #[arg(long)]
        create_keys: bool,
    },
    /// Run the server with a ready-made demo consortium (libraries, staff, patrons).
    Demo {
        /// Where the demo keeps its database and files (kept apart from real data).
        #[arg(long, default_value = "./data/demo")]
        data_dir: PathBuf,
        /// Publications to put in the demo catalogue: EPUBs and publication folders
        /// (page images, images, audio, video), files or directories.
        #[arg(long, default_values = ["testdata/corpus", "testdata/demo-media"])]
        books: Vec<PathBuf>,
    },
    /// Ingest publications into the catalogue, on all cores: EPUB files; folders, ZIPs
    /// or CBZs of page images (a journal issue, a scanned book) or of captioned images;
    /// folders of audio tracks (MP3, M4A, Ogg, FLAC) or MP4 videos; single audio or
    /// video files. A `metadata.toml` beside the files names the publication (see
    /// docs/media.md). Directories are searched. Exits non-zero if any failed.
    Ingest {
        /// Files or directories.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// No progress bar.
        #[arg(long)]
        quiet: bool,
        /// Delete stored objects left by interrupted ingests once they are this old.
        #[arg(long, default_value_t = 10)]
        orphan_grace_minutes: i64,
    },
    /// Rebuild this server's search index from the database.
    Reindex,
    /// Print the configuration in force (secrets omitted) and exit.
    Config,
    /// Hubs and members: enrol with a hub, invite a member, list them.
    Peer {
        /// What to do.
        #[command(subcommand)]
        action: distribution::PeerAction,
    },
    /// Collections a hub distributes: create, publish, export to a disk, import from one,
    /// pull over the network, send usage back.
    Collection {
        /// What to do.
        #[command(subcommand)]
        action: distribution::CollectionAction,
    },
    /// Manage the issuer signing keys and master keys.
    Keys {
        /// What to do with the keys.
        #[command(subcommand)]
        action: KeysAction,
    },
}

/// `jieyue keys ...`
#[derive(Debug, Subcommand)]
pub enum KeysAction {
    /// Create a new key ring (one issuer key, one master key).
    Generate,
    /// Add a new issuer key and sign with it; older keys stay published and valid.
    Rotate,
    /// Add a new master key and seal with it; older ones still open.
    RotateMaster,
    /// List the keys (ids and dates, never secrets).
    List,
    /// Print the public issuer keys as a JWK Set (to pin in apps).
    ExportPublic,
}

/// Runs the command line; the exit code says whether it succeeded.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

#[allow(clippy::print_stdout)] // Talking to the operator is this module's job.
async fn run(cli: Cli) -> anyhow::Result<()> {
    let mut config = Config::load(cli.config.as_deref())?;
    match cli.command {
        Command::Config => {
            println!("{}", toml_of(&config)?);
            Ok(())
        }
        Command::Serve { create_keys } => {
            config.create_keys_if_missing |= create_keys;
            serve(config, None).await
        }
        Command::Keys { action } => keys(&config, action),
        Command::Peer { action } => distribution::peer(&config, action).await,
        Command::Collection { action } => distribution::collection(&config, action).await,
        Command::Demo { data_dir, books } => {
            // The demo never touches the configured data unless pointed at it.
            if config
                .database_url
                .as_deref()
                .is_none_or(|u| u.starts_with("sqlite:"))
            {
                config.database_url = None;
            }
            config.data_dir = data_dir;
            config.keys_dir = None;
            config.storage_url = None;
            config.create_keys_if_missing = true;
            serve(config, Some(books)).await
        }
        Command::Ingest {
            paths,
            quiet,
            orphan_grace_minutes,
        } => ingest_command(config, paths, quiet, orphan_grace_minutes).await,
        Command::Reindex => {
            telemetry::init_tracing(config.log_format, &config.log_filter);
            let ctx = crate::startup::build_context(&config, Arc::new(SystemClock)).await?;
            let count = crate::service::catalogue::reindex(&ctx).await?;
            println!("Reindexed {count} titles.");
            Ok(())
        }
    }
}

#[allow(clippy::print_stdout)]
fn keys(config: &Config, action: KeysAction) -> anyhow::Result<()> {
    let dir = config.effective_keys_dir();
    let now = chrono::Utc::now();
    match action {
        KeysAction::Generate => {
            crate::keys::generate(&dir, now)?;
            println!(
                "Created a key ring in {}",
                crate::keys::ring_path(&dir).display()
            );
            for key in crate::keys::list(&dir)? {
                println!("  {} {}", key.kind, key.id);
            }
        }
        KeysAction::Rotate => {
            let kid = crate::keys::rotate_issuer(&dir, now)?;
            println!("Now signing with issuer key {kid}; earlier keys stay published.");
            println!("Restart every server replica with the updated key ring.");
        }
        KeysAction::RotateMaster => {
            let id = crate::keys::rotate_master(&dir, now)?;
            println!("Now sealing with master key {id}; earlier master keys still open.");
        }
        KeysAction::List => {
            for key in crate::keys::list(&dir)? {
                let state = if key.in_use { "in use" } else { "" };
                println!(
                    "{:7} {:20} {}  {state}",
                    key.kind,
                    key.id,
                    key.created.to_rfc3339()
                );
            }
        }
        KeysAction::ExportPublic => {
            let loaded = crate::keys::load(&dir)?;
            println!("{}", serde_json::to_string_pretty(&loaded.public)?);
        }
    }
    Ok(())
}

fn toml_of(config: &Config) -> anyhow::Result<String> {
    let mut shown = config.clone();
    shown.database_url = Some(crate::startup::redact_url(&config.effective_database_url()));
    Ok(serde_json::to_string_pretty(&shown)?)
}

#[allow(clippy::print_stdout)]
async fn ingest_command(
    config: Config,
    paths: Vec<PathBuf>,
    quiet: bool,
    grace_minutes: i64,
) -> anyhow::Result<()> {
    telemetry::init_tracing(config.log_format, "warn");
    let ctx = crate::startup::build_context(&config, Arc::new(SystemClock)).await?;
    let removed =
        crate::service::catalogue::remove_orphans(&ctx, chrono::Duration::minutes(grace_minutes))
            .await?;
    if removed > 0 {
        println!("Removed {removed} objects left by interrupted ingests.");
    }
    let files = ingest::find_sources(&paths)?;
    if files.is_empty() {
        anyhow::bail!(
            "no publications under the given paths (EPUB files, folders or ZIPs of page \
             images, audio tracks or videos)"
        );
    }
    let summary = tokio::select! {
        summary = ingest::ingest_all(&ctx, files, quiet) => summary,
        _ = tokio::signal::ctrl_c() => {
            anyhow::bail!("interrupted: titles finished so far are catalogued; rerun to continue");
        }
    };
    println!(
        "{} created, {} new versions, {} unchanged, {} failed ({:.1} MB in {:.1} s: {:.1} titles/s, {:.1} MB/s)",
        summary.created,
        summary.updated,
        summary.unchanged,
        summary.failures.len(),
        summary.bytes as f64 / 1e6,
        summary.seconds,
        (summary.created + summary.updated + summary.unchanged + summary.failures.len()) as f64
            / summary.seconds.max(1e-6),
        summary.bytes as f64 / 1e6 / summary.seconds.max(1e-6),
    );
    for (file, reason) in &summary.failures {
        println!("  FAILED {}: {reason}", file.display());
    }
    if summary.failures.is_empty() {
        Ok(())
    } else {
        anyhow::bail!("{} file(s) failed", summary.failures.len())
    }
}

#[allow(clippy::print_stdout)]
async fn serve(config: Config, demo_books: Option<Vec<PathBuf>>) -> anyhow::Result<()> {
    telemetry::init_tracing(config.log_format, &config.log_filter);
    let mut app = Application::build(&config, Arc::new(SystemClock)).await?;
    let addr = app.local_addr()?;

    if let Some(bootstrap) = app.take_bootstrap() {
        match bootstrap.generated_password {
            Some(password) => println!(
                "\nCreated the first consortium admin.\n  username: {}\n  password: {}\n\
                 This password is shown only once: store it now and change it after logging in.\n",
                bootstrap.admin.username,
                password.expose()
            ),
            None => println!(
                "\nCreated the first consortium admin '{}' with the password from \
                 JIEYUE_BOOTSTRAP_ADMIN_PASSWORD.\n",
                bootstrap.admin.username
            ),
        }
    }
    if let Some(books) = demo_books {
        let admin = demo::find_admin(app.ctx()).await?;
        demo::seed(app.ctx(), &admin).await?;
        // A missing default folder (an old checkout) is no reason to stop.
        let books: Vec<PathBuf> = books.into_iter().filter(|b| b.exists()).collect();
        match ingest::find_sources(&books) {
            Ok(files) if !files.is_empty() => {
                println!("Cataloguing {} demo publications...", files.len());
                let summary = ingest::ingest_all(app.ctx(), files, false).await;
                for (file, reason) in &summary.failures {
                    println!("  could not ingest {}: {reason}", file.display());
                }
            }
            _ => println!("No demo books found under {books:?}; the catalogue starts empty."),
        }
        let stocked = demo::stock(app.ctx(), &admin).await?;
        if stocked > 0 {
            println!(
                "Gave {stocked} titles {} copies each in the consortium's shared pool.",
                demo::DEMO_COPIES
            );
        }
        print_demo_guide(addr);
    }
    tracing::info!(%addr, "listening");
    println!("Jieyue is listening on http://{addr} (Ctrl-C to stop)");
    app.run_until_stopped(shutdown_signal()).await?;
    Ok(())
}

#[allow(clippy::print_stdout)]
fn print_demo_guide(addr: std::net::SocketAddr) {
    println!("Demo consortium ready:");
    println!("  librarians' console  http://{addr}/console/  (log in with a staff account below)");
    for (code, name, _) in demo::LIBRARIES {
        println!("  library {code:8} {name}");
    }
    println!("Staff (password '{}'):", demo::DEMO_STAFF_PASSWORD);
    for (username, name, role, library) in demo::STAFF {
        match library {
            Some(library) => println!("  {username:18} {name}  {} at {library}", role.as_str()),
            None => println!("  {username:18} {name}  {}", role.as_str()),
        }
    }
    println!("Patrons (password '{}'):", demo::DEMO_PATRON_PASSWORD);
    for (library, card, name, category) in demo::PATRONS {
        println!("  {library:8} card {card:8} {name} ({category})");
    }
    println!(
        "Try: curl -s http://{addr}/api/v1/auth/login -H 'content-type: application/json' \
         -d '{{\"library_code\":\"city\",\"card_number\":\"C0001\",\"password\":\"{}\"}}'\n",
        demo::DEMO_PATRON_PASSWORD
    );
}
