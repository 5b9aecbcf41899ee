//! Enrolled reading devices.

use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder,
};

use super::Result;
use super::entity::lending::device;
use crate::domain::{Device, DeviceId, PatronId};

fn device_of(m: device::Model) -> Device {
    Device {
        id: DeviceId(m.id),
        patron_id: PatronId(m.patron_id),
        name: m.name,
        key_sealed: m.key_sealed,
        enrolled_at: m.enrolled_at,
    }
}

/// A device by id (any patron's).
pub async fn device(conn: &impl ConnectionTrait, id: DeviceId) -> Result<Option<Device>> {
    Ok(device::Entity::find_by_id(id.0)
        .one(conn)
        .await?
        .map(device_of))
}

/// A patron's devices, oldest first.
pub async fn devices_of(conn: &impl ConnectionTrait, patron: PatronId) -> Result<Vec<Device>> {
    Ok(device::Entity::find()
        .filter(device::Column::PatronId.eq(patron.0))
        .order_by_asc(device::Column::EnrolledAt)
        .all(conn)
        .await?
        .into_iter()
        .map(device_of)
        .collect())
}

/// Stores a new device, or a new key for one the patron re-enrols.
pub async fn save_device(conn: &impl ConnectionTrait, d: &Device) -> Result<()> {
    match device::Entity::find_by_id(d.id.0).one(conn).await? {
        Some(existing) => {
            let mut model: device::ActiveModel = existing.into();
            model.name = Set(d.name.clone());
            model.key_sealed = Set(d.key_sealed.clone());
            model.enrolled_at = Set(d.enrolled_at);
            model.update(conn).await?;
        }
        None => {
            device::ActiveModel {
                id: Set(d.id.0),
                patron_id: Set(d.patron_id.0),
                name: Set(d.name.clone()),
                key_sealed: Set(d.key_sealed.clone()),
                enrolled_at: Set(d.enrolled_at),
            }
            .insert(conn)
            .await?;
        }
    }
    Ok(())
}

/// Removes a patron's device; `false` if the patron has no such device.
pub async fn delete_device(
    conn: &impl ConnectionTrait,
    patron: PatronId,
    id: DeviceId,
) -> Result<bool> {
    let result = device::Entity::delete_many()
        .filter(device::Column::Id.eq(id.0))
        .filter(device::Column::PatronId.eq(patron.0))
        .exec(conn)
        .await?;
    Ok(result.rows_affected > 0)
}
