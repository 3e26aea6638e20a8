// A long cycle of coordinators with Cyrillic names: the message stays whole
// and valid, never cut inside a name.
#![allow(mixed_script_confusables, confusable_idents, uncommon_codepoints, non_camel_case_types)]
use coord::prelude::*;

#[coordinator(depends_on = [Очередь1])]
pub struct Сборщик1;
impl Coordinator for Сборщик1 {
    async fn initialize(_ctx: &InitContext<'_, Self>) -> Result<Self, BoxError> {
        Ok(Self)
    }
}

#[coordinator(depends_on = [Планировщик1])]
pub struct Очередь1;
impl Coordinator for Очередь1 {
    async fn initialize(_ctx: &InitContext<'_, Self>) -> Result<Self, BoxError> {
        Ok(Self)
    }
}

#[coordinator(depends_on = [Обучение1])]
pub struct Планировщик1;
impl Coordinator for Планировщик1 {
    async fn initialize(_ctx: &InitContext<'_, Self>) -> Result<Self, BoxError> {
        Ok(Self)
    }
}

#[coordinator(depends_on = [Оценка1])]
pub struct Обучение1;
impl Coordinator for Обучение1 {
    async fn initialize(_ctx: &InitContext<'_, Self>) -> Result<Self, BoxError> {
        Ok(Self)
    }
}

#[coordinator(depends_on = [Публикация1])]
pub struct Оценка1;
impl Coordinator for Оценка1 {
    async fn initialize(_ctx: &InitContext<'_, Self>) -> Result<Self, BoxError> {
        Ok(Self)
    }
}

#[coordinator(depends_on = [Хранилище1])]
pub struct Публикация1;
impl Coordinator for Публикация1 {
    async fn initialize(_ctx: &InitContext<'_, Self>) -> Result<Self, BoxError> {
        Ok(Self)
    }
}

#[coordinator(depends_on = [Синхронизация1])]
pub struct Хранилище1;
impl Coordinator for Хранилище1 {
    async fn initialize(_ctx: &InitContext<'_, Self>) -> Result<Self, BoxError> {
        Ok(Self)
    }
}

#[coordinator(depends_on = [Маршрутизатор1])]
pub struct Синхронизация1;
impl Coordinator for Синхронизация1 {
    async fn initialize(_ctx: &InitContext<'_, Self>) -> Result<Self, BoxError> {
        Ok(Self)
    }
}

#[coordinator(depends_on = [Наблюдатель1])]
pub struct Маршрутизатор1;
impl Coordinator for Маршрутизатор1 {
    async fn initialize(_ctx: &InitContext<'_, Self>) -> Result<Self, BoxError> {
        Ok(Self)
    }
}

#[coordinator(depends_on = [Сборщик2])]
pub struct Наблюдатель1;
impl Coordinator for Наблюдатель1 {
    async fn initialize(_ctx: &InitContext<'_, Self>) -> Result<Self, BoxError> {
        Ok(Self)
    }
}

#[coordinator(depends_on = [Очередь2])]
pub struct Сборщик2;
impl Coordinator for Сборщик2 {
    async fn initialize(_ctx: &InitContext<'_, Self>) -> Result<Self, BoxError> {
        Ok(Self)
    }
}

#[coordinator(depends_on = [Планировщик2])]
pub struct Очередь2;
impl Coordinator for Очередь2 {
    async fn initialize(_ctx: &InitContext<'_, Self>) -> Result<Self, BoxError> {
        Ok(Self)
    }
}

#[coordinator(depends_on = [Обучение2])]
pub struct Планировщик2;
impl Coordinator for Планировщик2 {
    async fn initialize(_ctx: &InitContext<'_, Self>) -> Result<Self, BoxError> {
        Ok(Self)
    }
}

#[coordinator(depends_on = [Оценка2])]
pub struct Обучение2;
impl Coordinator for Обучение2 {
    async fn initialize(_ctx: &InitContext<'_, Self>) -> Result<Self, BoxError> {
        Ok(Self)
    }
}

#[coordinator(depends_on = [Публикация2])]
pub struct Оценка2;
impl Coordinator for Оценка2 {
    async fn initialize(_ctx: &InitContext<'_, Self>) -> Result<Self, BoxError> {
        Ok(Self)
    }
}

#[coordinator(depends_on = [Хранилище2])]
pub struct Публикация2;
impl Coordinator for Публикация2 {
    async fn initialize(_ctx: &InitContext<'_, Self>) -> Result<Self, BoxError> {
        Ok(Self)
    }
}

#[coordinator(depends_on = [Синхронизация2])]
pub struct Хранилище2;
impl Coordinator for Хранилище2 {
    async fn initialize(_ctx: &InitContext<'_, Self>) -> Result<Self, BoxError> {
        Ok(Self)
    }
}

#[coordinator(depends_on = [Маршрутизатор2])]
pub struct Синхронизация2;
impl Coordinator for Синхронизация2 {
    async fn initialize(_ctx: &InitContext<'_, Self>) -> Result<Self, BoxError> {
        Ok(Self)
    }
}

#[coordinator(depends_on = [Наблюдатель2])]
pub struct Маршрутизатор2;
impl Coordinator for Маршрутизатор2 {
    async fn initialize(_ctx: &InitContext<'_, Self>) -> Result<Self, BoxError> {
        Ok(Self)
    }
}

#[coordinator(depends_on = [Сборщик3])]
pub struct Наблюдатель2;
impl Coordinator for Наблюдатель2 {
    async fn initialize(_ctx: &InitContext<'_, Self>) -> Result<Self, BoxError> {
        Ok(Self)
    }
}

#[coordinator(depends_on = [Очередь3])]
pub struct Сборщик3;
impl Coordinator for Сборщик3 {
    async fn initialize(_ctx: &InitContext<'_, Self>) -> Result<Self, BoxError> {
        Ok(Self)
    }
}

#[coordinator(depends_on = [Планировщик3])]
pub struct Очередь3;
impl Coordinator for Очередь3 {
    async fn initialize(_ctx: &InitContext<'_, Self>) -> Result<Self, BoxError> {
        Ok(Self)
    }
}

#[coordinator(depends_on = [Обучение3])]
pub struct Планировщик3;
impl Coordinator for Планировщик3 {
    async fn initialize(_ctx: &InitContext<'_, Self>) -> Result<Self, BoxError> {
        Ok(Self)
    }
}

#[coordinator(depends_on = [Оценка3])]
pub struct Обучение3;
impl Coordinator for Обучение3 {
    async fn initialize(_ctx: &InitContext<'_, Self>) -> Result<Self, BoxError> {
        Ok(Self)
    }
}

#[coordinator(depends_on = [Публикация3])]
pub struct Оценка3;
impl Coordinator for Оценка3 {
    async fn initialize(_ctx: &InitContext<'_, Self>) -> Result<Self, BoxError> {
        Ok(Self)
    }
}

#[coordinator(depends_on = [Хранилище3])]
pub struct Публикация3;
impl Coordinator for Публикация3 {
    async fn initialize(_ctx: &InitContext<'_, Self>) -> Result<Self, BoxError> {
        Ok(Self)
    }
}

#[coordinator(depends_on = [Синхронизация3])]
pub struct Хранилище3;
impl Coordinator for Хранилище3 {
    async fn initialize(_ctx: &InitContext<'_, Self>) -> Result<Self, BoxError> {
        Ok(Self)
    }
}

#[coordinator(depends_on = [Маршрутизатор3])]
pub struct Синхронизация3;
impl Coordinator for Синхронизация3 {
    async fn initialize(_ctx: &InitContext<'_, Self>) -> Result<Self, BoxError> {
        Ok(Self)
    }
}

#[coordinator(depends_on = [Наблюдатель3])]
pub struct Маршрутизатор3;
impl Coordinator for Маршрутизатор3 {
    async fn initialize(_ctx: &InitContext<'_, Self>) -> Result<Self, BoxError> {
        Ok(Self)
    }
}

#[coordinator(depends_on = [Сборщик1])]
pub struct Наблюдатель3;
impl Coordinator for Наблюдатель3 {
    async fn initialize(_ctx: &InitContext<'_, Self>) -> Result<Self, BoxError> {
        Ok(Self)
    }
}

fn main() {}
