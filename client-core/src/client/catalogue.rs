//! The catalogue: search and title details (with availability when logged in).

use super::{Client, parse_id};
use crate::api::CatalogQuery;
use crate::error::Result;
use crate::model::{SearchPage, TitleDetails};

impl Client {
    /// Searches the catalogue (`query` may be empty to browse). `limit`: titles per
    /// page (`None`: the server's default).
    pub async fn search(
        &self,
        query: &str,
        language: Option<String>,
        cursor: Option<String>,
        limit: Option<u32>,
    ) -> Result<SearchPage> {
        let token = self.inner.session_opt();
        let page = self
            .inner
            .api
            .catalog(
                token.as_ref(),
                CatalogQuery {
                    text: Some(query.to_owned()),
                    language,
                    cursor,
                    limit,
                },
            )
            .await?;
        Ok(SearchPage {
            items: page.items.into_iter().map(Into::into).collect(),
            total: page.total,
            next_cursor: page.next_cursor,
        })
    }

    /// A title's details, with availability at the reader's library when logged in.
    pub async fn title(&self, title_id: &str) -> Result<TitleDetails> {
        let id = parse_id(title_id, "title")?;
        let token = self.inner.session_opt();
        Ok(self.inner.api.title(token.as_ref(), id).await?.into())
    }
}
