//! The Redis half of [`CachedClient::token`]: steps 1, 3 and 4 of the protocol described in
//! the [`redis`](super::redis) module (step 2, the machine's lock, is the disk path's).
//!
//! Both entry points return `None` when Redis fails on the way; the caller then goes on
//! with the local path as if no Redis cache were configured. The store itself (keys,
//! scripts, timeouts, the one warning) is in the `redis` module.

use std::time::{Duration, Instant, SystemTime};

use super::entry;
use super::redis::{Lease, RedisCache, Unavailable, LEASE_TTL, POLL_MAX, POLL_MIN};
use super::{CachedClient, Found, Origin, LOCK_WAIT};
use crate::error::{Error, ErrorKind};
use crate::secret::AccessToken;
use crate::token::Token;

impl CachedClient {
    /// Step 1: the fleet's entry, if it is fresh (or a remembered failure). `None` sends the
    /// caller on to the local lock.
    pub(super) async fn fleet_entry(
        &self,
        shared: &RedisCache,
        min_ttl: Duration,
        exclude: Option<&AccessToken>,
    ) -> Option<Result<(Token, Origin), Error>> {
        let secret = &self.seal;
        let lookup = shared
            .load(&self.key, secret, self.clock.now(), self.negative_ttl)
            .await
            .ok()?;
        match self.judge(lookup, min_ttl, exclude) {
            Ok(Found::Fresh(t)) => {
                self.write_through(&t);
                Some(Ok((t, Origin::Cache)))
            }
            Ok(Found::Stale(_)) => None,
            Err(e) => Some(Err(e)),
        }
    }

    /// Steps 3 and 4, under the machine's lock: take the lease and fetch, or wait for the
    /// holder's entry. `None` when Redis failed on the way (the caller fetches locally).
    pub(super) async fn under_lease(
        &self,
        shared: &RedisCache,
        min_ttl: Duration,
        exclude: Option<&AccessToken>,
        previous: Option<&Token>,
        deadline: Option<SystemTime>,
    ) -> Option<Result<(Token, Origin), Error>> {
        let secret = &self.seal;
        let give_up = Instant::now() + LOCK_WAIT;
        let mut pause = POLL_MIN;
        loop {
            let lookup = shared
                .load(&self.key, secret, self.clock.now(), self.negative_ttl)
                .await
                .ok()?;
            let stale = match self.judge(lookup, min_ttl, exclude) {
                Ok(Found::Fresh(t)) => {
                    self.write_through(&t);
                    return Some(Ok((t, Origin::Cache)));
                }
                Ok(Found::Stale(t)) => t,
                Err(e) => return Some(Err(e)),
            };
            if let Some(lease) = shared.try_lease(&self.key).await.ok()? {
                let previous = previous.or(stale.as_ref());
                let result = self.fetch_leased(shared, lease, previous, deadline).await;
                return Some(result.map(|t| (t, Origin::Server)));
            }
            if Instant::now() >= give_up {
                tracing::warn!(
                    "another machine has held the shared cache's refresh lease for {}; \
                     asking the token server",
                    crate::duration::Human(LOCK_WAIT)
                );
                return None;
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(POLL_MAX);
        }
    }

    /// Fetch while holding `lease` (extended as long as the fetch runs), publish the outcome
    /// to the fleet, release the lease.
    async fn fetch_leased(
        &self,
        shared: &RedisCache,
        lease: Lease,
        previous: Option<&Token>,
        deadline: Option<SystemTime>,
    ) -> Result<Token, Error> {
        let secret = &self.seal;
        let remembered = shared
            .rate_limited_until(&self.key, secret, self.clock.now())
            .await
            .ok()
            .flatten();
        let work = self.fetch_and_store(previous, remembered, deadline);
        tokio::pin!(work);
        let every = LEASE_TTL / 3;
        let mut renew = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        let result = loop {
            tokio::select! {
                r = &mut work => break r,
                _ = renew.tick() => {
                    if !matches!(shared.renew(&lease).await, Ok(true)) {
                        tracing::debug!("lost the shared cache's refresh lease");
                    }
                }
            }
        };
        let now = self.clock.now();
        let published = match &result {
            Ok(t) => match entry::encode_token(&self.key, secret, t) {
                Ok(bytes) => shared.store(&self.key, &bytes, t.remaining(now)).await,
                Err(e) => {
                    tracing::warn!("could not encode the shared cache entry: {e}");
                    Ok(())
                }
            },
            Err(e) => self.publish_failure(shared, e, now).await,
        };
        if published.is_ok() {
            // After a failure Redis is left alone: the lease expires by itself.
            let _ = shared.release(lease).await;
        }
        result
    }

    /// Share a permanent failure (negative TTL) or a rate limit with the fleet.
    async fn publish_failure(
        &self,
        shared: &RedisCache,
        e: &Error,
        now: SystemTime,
    ) -> Result<(), Unavailable> {
        let secret = &self.seal;
        if e.kind == ErrorKind::RateLimited {
            let wait = super::rate_limit_wait(e);
            shared
                .store_rate_limit(&self.key, secret, now + wait, now)
                .await?;
        }
        if e.worth_remembering() && !self.negative_ttl.is_zero() {
            let until = now + self.negative_ttl;
            if let Ok(bytes) = entry::encode_negative(&self.key, secret, e, until) {
                shared.store(&self.key, &bytes, self.negative_ttl).await?;
            }
        }
        Ok(())
    }

    /// Copy a token found in Redis to the disk cache.
    fn write_through(&self, t: &Token) {
        let secret = &self.seal;
        if let Err(e) = self.cache.store_token(&self.key, secret, t) {
            tracing::warn!("could not write the token cache: {e}");
        }
    }
}
