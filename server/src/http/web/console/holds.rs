//! The console's holds pages: the queues per title, ready holds awaiting pickup, the
//! ready holds about to lapse, and one title's whole queue. Library staff see their
//! library's readers (others in a queue by library code only); consortium admins see
//! everyone.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;
use uuid::Uuid;

use crate::domain::{HoldState, TitleId};
use crate::http::AppState;
use crate::http::web::session::Console;
use crate::http::web::{Chrome, PageError};
use crate::service::Error as ServiceError;
use crate::service::holds::{self, QueueSummary, ReadyHold, TitleQueue};

/// Routes of these pages (full paths under `/console/`).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/console/holds", get(overview))
        .route("/console/holds/titles/{title}", get(title_queue))
}

/// The tabs of the holds page: query value and message key.
const TABS: [(&str, &str); 3] = [
    ("queues", "holds-tab-queues"),
    ("ready", "holds-tab-ready"),
    ("lapsing", "holds-tab-lapsing"),
];

/// Which part of the holds page is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tab {
    /// The queue per title.
    Queues,
    /// Ready holds awaiting pickup.
    Ready,
    /// Ready holds whose pickup deadline is near.
    Lapsing,
}

impl Tab {
    fn parse(raw: Option<&str>) -> Self {
        match raw {
            Some("ready") => Tab::Ready,
            Some("lapsing") => Tab::Lapsing,
            _ => Tab::Queues,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Tab::Queues => "queues",
            Tab::Ready => "ready",
            Tab::Lapsing => "lapsing",
        }
    }
}

/// Which tab of the holds page.
#[derive(Debug, Deserialize)]
pub struct OverviewQuery {
    tab: Option<String>,
}

#[derive(Template)]
#[template(path = "console/holds/index.html")]
struct OverviewPage {
    c: Chrome,
    tab: &'static str,
    tabs: [(&'static str, &'static str); 3],
    queues: Vec<QueueSummary>,
    ready: Vec<ReadyHold>,
    lapsing_hours: i64,
}

/// `GET /console/holds?tab=queues|ready|lapsing`.
pub async fn overview(
    State(state): State<AppState>,
    console: Console,
    Query(query): Query<OverviewQuery>,
) -> Result<Response, PageError> {
    let lang = console.web.lang;
    let tab = Tab::parse(query.tab.as_deref());
    let fail = |e| PageError::service(e, lang);
    let (queues, ready) = match tab {
        Tab::Queues => (
            holds::queues(&state.ctx, &console.staff)
                .await
                .map_err(fail)?,
            Vec::new(),
        ),
        Tab::Ready | Tab::Lapsing => (
            Vec::new(),
            holds::ready_holds(&state.ctx, &console.staff, tab == Tab::Lapsing)
                .await
                .map_err(fail)?,
        ),
    };
    console.web.render(&OverviewPage {
        c: console.chrome("holds"),
        tab: tab.as_str(),
        tabs: TABS,
        queues,
        ready,
        lapsing_hours: holds::LAPSING_WITHIN.num_hours(),
    })
}

#[derive(Template)]
#[template(path = "console/holds/title.html")]
struct TitleQueuePage {
    c: Chrome,
    q: TitleQueue,
}

impl TitleQueuePage {
    /// The words for a hold's state.
    fn state(&self, state: &HoldState) -> String {
        self.c.t(match state {
            HoldState::Waiting => "holds-state-waiting",
            HoldState::Ready => "holds-state-ready",
            HoldState::Fulfilled => "holds-state-fulfilled",
            HoldState::Expired => "holds-state-expired",
            HoldState::Cancelled => "holds-state-cancelled",
        })
    }
}

/// `GET /console/holds/titles/{title}`: every place in the title's queue.
pub async fn title_queue(
    State(state): State<AppState>,
    console: Console,
    Path(title): Path<String>,
) -> Result<Response, PageError> {
    let lang = console.web.lang;
    let title = Uuid::parse_str(&title)
        .map(TitleId)
        .map_err(|_| PageError::service(ServiceError::NotFound("title"), lang))?;
    let q = holds::title_queue(&state.ctx, &console.staff, title)
        .await
        .map_err(|e| PageError::service(e, lang))?;
    console.web.render(&TitleQueuePage {
        c: console.chrome("holds"),
        q,
    })
}
