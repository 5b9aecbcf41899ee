//! `jieyue peer ...` and `jieyue collection ...`: enrolment with a hub, collections on
//! a hub, bundles to and from disks, pulls over the network, usage going back up.

use std::path::PathBuf;
use std::sync::Arc;

use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};
use jieyue_protocol::distribution::CollectionRights;
use uuid::Uuid;

use crate::clock::SystemClock;
use crate::config::Config;
use crate::domain::TitleId;
use crate::domain::distribution::PeerRole;
use crate::service::Ctx;
use crate::service::distribution::bundle::{self, ExportOptions, InstallOptions, Progress};
use crate::service::distribution::{self as dist, By, NewCollection, usage};

/// `jieyue peer ...`
#[derive(Debug, Subcommand)]
pub enum PeerAction {
    /// On a member: enrol this server with a hub, using the code the hub's admin gave.
    Enrol {
        /// The hub's address (`https://hub.example`).
        #[arg(long)]
        hub: String,
        /// The enrolment code (`member-id.secret`).
        #[arg(long)]
        code: String,
    },
    /// On a hub: invite a member server; prints its one-time enrolment code.
    Invite {
        /// The member's name (`淳安县图书馆`).
        name: String,
        /// Its province or region, for reports (`浙江省`).
        #[arg(long)]
        region: Option<String>,
    },
    /// List this server's members and hubs.
    List,
}

/// `jieyue collection ...`
#[derive(Debug, Subcommand)]
pub enum CollectionAction {
    /// On a hub: create a collection.
    Create {
        /// Short name (`jiceng-2026`).
        slug: String,
        /// Display name (`基层图书馆数字资源提升 2026`).
        #[arg(long)]
        name: String,
        /// Copies of each title per member (default: unlimited concurrent use).
        #[arg(long)]
        copies: Option<u32>,
    },
    /// On a hub: set a collection's titles (ids, or every title in the catalogue).
    Titles {
        /// Short name.
        slug: String,
        /// Title ids.
        #[arg(long = "title")]
        titles: Vec<Uuid>,
        /// Every title in the catalogue.
        #[arg(long, conflicts_with = "titles")]
        all: bool,
    },
    /// On a hub: publish the collection's titles as its next version.
    Publish {
        /// Short name.
        slug: String,
    },
    /// On a hub: write the newest version to a directory or mounted disk (resumable).
    Export {
        /// Short name.
        slug: String,
        /// Where (created if missing).
        #[arg(long)]
        to: PathBuf,
        /// Members to make key envelopes for (default: every active member).
        #[arg(long = "member")]
        members: Vec<Uuid>,
        /// Days the bundle may be imported.
        #[arg(long, default_value_t = 180)]
        valid_days: u32,
        /// Bytes per second at most (e.g. 50M), if the disk must stay usable.
        #[arg(long, value_parser = parse_rate)]
        limit_rate: Option<u64>,
        /// No progress bar.
        #[arg(long)]
        quiet: bool,
    },
    /// On a member: import a bundle from a directory or mounted disk (resumable).
    Import {
        /// The bundle.
        dir: PathBuf,
        /// Bytes per second at most.
        #[arg(long, value_parser = parse_rate)]
        limit_rate: Option<u64>,
        /// No progress bar.
        #[arg(long)]
        quiet: bool,
    },
    /// On a member: fetch new versions from every hub, downloading only missing objects.
    Pull {
        /// Bytes per second at most (e.g. 2M).
        #[arg(long, value_parser = parse_rate)]
        limit_rate: Option<u64>,
        /// No progress bar.
        #[arg(long)]
        quiet: bool,
    },
    /// On a member: send usage to the hubs by network, or write it for a return disk.
    UsageSend {
        /// Write signed usage files into this directory instead of sending them.
        #[arg(long)]
        to: Option<PathBuf>,
    },
    /// On a hub: read usage files a member wrote (from a return disk).
    UsageImport {
        /// The files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

/// `50M`, `2m`, `800k`, `1G` or plain bytes, per second.
fn parse_rate(raw: &str) -> Result<u64, String> {
    let raw = raw.trim();
    let (digits, unit) = raw
        .find(|c: char| !c.is_ascii_digit())
        .map_or((raw, ""), |i| raw.split_at(i));
    let n: u64 = digits.parse().map_err(|_| format!("not a rate: {raw:?}"))?;
    let factor = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1 << 10,
        "m" | "mb" => 1 << 20,
        "g" | "gb" => 1 << 30,
        _ => return Err(format!("unknown unit in {raw:?} (use k, M or G)")),
    };
    n.checked_mul(factor)
        .filter(|r| *r > 0)
        .ok_or_else(|| format!("not a usable rate: {raw:?}"))
}

async fn context(config: &Config) -> anyhow::Result<Ctx> {
    crate::telemetry::init_tracing(config.log_format, "warn");
    Ok(crate::startup::build_context(config, Arc::new(SystemClock)).await?)
}

fn bar(quiet: bool) -> ProgressBar {
    if quiet {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {binary_bytes}/{binary_total_bytes} \
             {binary_bytes_per_sec} ETA {eta} {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}

fn reporter(bar: &ProgressBar) -> impl Fn(Progress) + Send + Sync + '_ {
    move |event| match event {
        Progress::Start {
            objects,
            bytes,
            present,
        } => {
            bar.set_length(bytes);
            bar.set_position(0);
            bar.set_message(format!("{objects} objects to copy, {present} already here"));
        }
        Progress::Bytes(n) => bar.inc(n),
        Progress::Object => {}
        Progress::Publishing => bar.set_message("publishing to the catalogue"),
    }
}

/// Runs `jieyue peer ...`.
#[allow(clippy::print_stdout)]
pub async fn peer(config: &Config, action: PeerAction) -> anyhow::Result<()> {
    let ctx = context(config).await?;
    match action {
        PeerAction::Enrol { hub, code } => {
            let hub = dist::enrol_with_hub(&ctx, By::Operator, &hub, &code).await?;
            println!(
                "Enrolled with hub {} ({}); its keys are pinned: {}.",
                hub.name,
                hub.id,
                key_ids(&hub)
            );
        }
        PeerAction::Invite { name, region } => {
            let invitation =
                dist::invite_member(&ctx, By::Operator, &name, region.as_deref()).await?;
            println!(
                "Invited {} ({}).",
                invitation.member.name, invitation.member.id
            );
            println!("Give its admin this one-time code (it is not shown again):");
            println!("  {}", invitation.code);
        }
        PeerAction::List => {
            for role in [PeerRole::Hub, PeerRole::Member] {
                for p in dist::peers(&ctx, By::Operator, role).await? {
                    println!(
                        "{:6} {:9} {} {}  {}",
                        role.as_str(),
                        p.status.as_str(),
                        p.id,
                        p.name,
                        p.region.as_deref().unwrap_or("")
                    );
                }
            }
        }
    }
    Ok(())
}

fn key_ids(peer: &crate::domain::distribution::Peer) -> String {
    peer.identity_keys
        .keys
        .iter()
        .map(|k| k.key_id().as_str().to_owned())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Runs `jieyue collection ...`.
#[allow(clippy::print_stdout)]
pub async fn collection(config: &Config, action: CollectionAction) -> anyhow::Result<()> {
    let ctx = context(config).await?;
    match action {
        CollectionAction::Create { slug, name, copies } => {
            let rights = copies.map_or(
                CollectionRights::Unlimited,
                CollectionRights::CopiesPerMember,
            );
            let c =
                dist::create_collection(&ctx, By::Operator, NewCollection { slug, name, rights })
                    .await?;
            println!("Created collection {} ({}).", c.slug.as_str(), c.name);
        }
        CollectionAction::Titles { slug, titles, all } => {
            let ids: Vec<TitleId> = if all {
                dist::every_title(&ctx, By::Operator).await?
            } else {
                titles.into_iter().map(TitleId).collect()
            };
            let n = dist::set_titles(&ctx, By::Operator, &slug, &ids).await?;
            println!("{slug} now has {n} titles; publish to make a version of them.");
        }
        CollectionAction::Publish { slug } => {
            let v = dist::publish(&ctx, By::Operator, &slug).await?;
            println!(
                "Published {slug} version {}: {} titles, {} bytes.",
                v.version, v.titles, v.total_size
            );
        }
        CollectionAction::Export {
            slug,
            to,
            members,
            valid_days,
            limit_rate,
            quiet,
        } => {
            let bar = bar(quiet);
            let options = ExportOptions {
                members,
                valid_days,
                limit_rate,
            };
            let summary = bundle::export(&ctx, &slug, &to, &options, &reporter(&bar)).await;
            bar.finish_and_clear();
            let summary = summary?;
            println!(
                "Wrote {slug} version {} to {}: {} objects ({} bytes) written, {} already there; \
                 key envelopes for: {}.",
                summary.version,
                to.display(),
                summary.written,
                summary.bytes,
                summary.present,
                if summary.members.is_empty() {
                    "no member".to_owned()
                } else {
                    summary.members.join(", ")
                }
            );
        }
        CollectionAction::Import {
            dir,
            limit_rate,
            quiet,
        } => {
            let bar = bar(quiet);
            let result =
                bundle::import(&ctx, &dir, InstallOptions { limit_rate }, &reporter(&bar)).await;
            bar.finish_and_clear();
            print_install(&result?);
        }
        CollectionAction::Pull { limit_rate, quiet } => {
            let bar = bar(quiet);
            let result = bundle::pull(&ctx, InstallOptions { limit_rate }, &reporter(&bar)).await;
            bar.finish_and_clear();
            let report = result?;
            if report.installed.is_empty() && report.failed.is_empty() {
                println!("Every collection is up to date.");
            }
            for summary in &report.installed {
                print_install(summary);
            }
            for (hub, acked) in usage::send(&ctx).await? {
                println!("Usage sent to {hub}: it holds entries up to {acked}.");
            }
            if !report.failed.is_empty() {
                for (what, err) in &report.failed {
                    println!("  FAILED {what}: {err}");
                }
                anyhow::bail!(
                    "{} collection(s) or hub(s) failed; rerun to resume",
                    report.failed.len()
                );
            }
        }
        CollectionAction::UsageSend { to: Some(dir) } => {
            for file in usage::export(&ctx, &dir).await? {
                println!("Wrote {}", file.display());
            }
        }
        CollectionAction::UsageSend { to: None } => {
            for (hub, acked) in usage::send(&ctx).await? {
                println!("Usage sent to {hub}: it holds entries up to {acked}.");
            }
        }
        CollectionAction::UsageImport { files } => {
            for file in files {
                let token = std::fs::read_to_string(&file)?;
                let (member, acked) = usage::receive(&ctx, token.trim()).await?;
                println!(
                    "{}: usage from {member} held up to entry {acked}.",
                    file.display()
                );
            }
        }
    }
    Ok(())
}

#[allow(clippy::print_stdout)]
fn print_install(summary: &bundle::InstallSummary) {
    if summary.up_to_date {
        println!(
            "{} ({}) version {} is installed already.",
            summary.name, summary.collection, summary.version
        );
        return;
    }
    println!(
        "Installed {} ({}) version {}: {} titles published; {} objects copied ({} bytes), {} \
         already verified.",
        summary.name,
        summary.collection,
        summary.version,
        summary.titles,
        summary.copied,
        summary.bytes,
        summary.already
    );
    for title in &summary.skipped {
        println!("  left out {title}: this catalogue has the same book from its own ingest");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_read_like_curl() {
        assert_eq!(parse_rate("800"), Ok(800));
        assert_eq!(parse_rate("2M"), Ok(2 << 20));
        assert_eq!(parse_rate("50m"), Ok(50 << 20));
        assert_eq!(parse_rate("1G"), Ok(1 << 30));
        assert!(parse_rate("fast").is_err());
        assert!(parse_rate("0").is_err());
        assert!(parse_rate("3T").is_err());
    }
}
