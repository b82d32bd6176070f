//! MariaDB / InnoDB: rows one at a time in primary-key order, depth-first, FKs in constraint-name
//! order, every check immediate (NO ACTION is RESTRICT, SET DEFAULT is stored as RESTRICT: the
//! graph is normalised with `Dialect::effective_action` before judging). A row referencing itself
//! blocks its own delete. Cascades fail at 15 levels. A temporary table cannot be opened twice
//! in one statement, so the executor stages through mirror tables. Where the order decides,
//! the judge replays it (`mysql/replay.rs`).

mod replay;

use cascade_entity::rules::FkAction;
use sea_orm::DbErr;

use super::super::effects::EdgeEffect;
use super::super::report::RefusalKind;
use super::super::simulate::world::{Replay, World};
use super::{ActionSwitch, Engine, Verdict, error_code, error_text};

pub(crate) struct MySql;

impl Engine for MySql {
    fn create_work_table(
        &self,
        q: &dyn Fn(&str) -> String,
        name: &str,
        table: &str,
        key: &[String],
    ) -> Vec<String> {
        let cols: Vec<String> = key.iter().map(|c| q(c)).collect();
        vec![format!(
            "CREATE TEMPORARY TABLE {} (PRIMARY KEY ({})) AS SELECT {}, CAST(0 AS SIGNED) AS \
             cascade_gen FROM {} LIMIT 0",
            q(name),
            cols.join(", "),
            cols.join(", "),
            q(table)
        )]
    }

    fn drop_work_table(&self, q: &dyn Fn(&str) -> String, name: &str) -> String {
        format!("DROP TEMPORARY TABLE IF EXISTS {}", q(name))
    }

    fn drop_work_tables(&self, q: &dyn Fn(&str) -> String, names: &[String]) -> Vec<String> {
        if names.is_empty() {
            return Vec::new();
        }
        let names: Vec<String> = names.iter().map(|n| q(n)).collect();
        vec![format!(
            "DROP TEMPORARY TABLE IF EXISTS {}",
            names.join(", ")
        )]
    }

    fn insert_ignore(&self, into: &str, select: &str) -> String {
        format!("INSERT IGNORE INTO {into} {select}")
    }

    fn text_type(&self) -> &'static str {
        "CHAR"
    }

    /// `SET STATEMENT` scopes the setting to the one DELETE: nothing to restore, nothing left
    /// behind on the connection.
    fn action_switch(&self) -> Option<ActionSwitch> {
        Some(ActionSwitch::Prefix(
            "SET STATEMENT foreign_key_checks = 0 FOR ",
        ))
    }

    /// Plain reads see the transaction's snapshot; a locking read sees the latest committed rows
    /// and locks the FK index ranges it scanned, so no child can be inserted under a deleted
    /// key before commit.
    fn check_reads_with_locks(&self) -> bool {
        true
    }

    /// Measured (`cascade bench --backend mysql --scale 100000`): W1 orm/db 2.56 with the
    /// actions suspended against 1.46 with them on, W2 1.32 against 1.31 (release); after SET
    /// NULL rows came to be counted by their UPDATE, within noise of each other (W1 1.37 /
    /// 1.37, W2 1.07 / 1.12), and still with a non-locking check (release, 5 rounds: W1 1.46 /
    /// 1.47, W2 1.16 / 1.24). The check walks the same delete-marked index entries InnoDB's own
    /// empty cascades do, so suspending buys nothing measurable: `Auto` keeps them on.
    fn suspension_pays(&self) -> bool {
        false
    }

    fn deletes_by_join(&self) -> bool {
        true
    }

    fn no_action_sees_replacement_keys(&self) -> bool {
        false
    }

    fn work_tables_outlive_rollback(&self) -> bool {
        true
    }

    fn reopens_work_tables(&self) -> bool {
        false
    }

    fn parser_dialect(&self) -> &'static dyn sqlparser::dialect::Dialect {
        &sqlparser::dialect::MySqlDialect {}
    }

    fn backslash_escapes_in_strings(&self) -> bool {
        true
    }

    fn replay(&self, world: &mut World) -> Replay {
        replay::replay(world)
    }

    fn judge(&self, e: &EdgeEffect) -> Verdict {
        match e.action {
            FkAction::Cascade => Verdict::Fine,
            _ if e.survivors_fail() => Verdict::Refuse(e.refusal_kind()),
            _ if !e.doomed_fail() => Verdict::Fine,
            // A row referencing itself is checked before it is delete-marked: it blocks.
            _ if e.doomed_self > 0 => Verdict::Refuse(e.refusal_kind()),
            _ if e.doomed_other_rows() > 0 => Verdict::Refuse(RefusalKind::OrderDependent),
            _ => Verdict::Fine,
        }
    }

    fn classify(&self, error: &DbErr) -> Option<RefusalKind> {
        // MariaDB error numbers (sqlx reports them as the code).
        match error_code(error)?.as_str() {
            // ER_ROW_IS_REFERENCED(_2): a parent row still referenced.
            "1451" | "1217" => Some(RefusalKind::Restrict),
            // ER_NO_REFERENCED_ROW(_2): a child row written with no parent.
            "1452" | "1216" => Some(RefusalKind::FkMissingParent),
            // ER_BAD_NULL_ERROR.
            "1048" => Some(RefusalKind::NotNull),
            // ER_CONSTRAINT_FAILED (CHECK).
            "4025" => Some(RefusalKind::Check),
            // ER_DUP_ENTRY.
            "1062" => Some(RefusalKind::Unique),
            // ER_FK_DEPTH_EXCEEDED, or ER_GET_ERRMSG (1296) carrying InnoDB's error number 193
            // (DB_FOREIGN_EXCEED_MAX_CASCADE); 1296 carries other engine errors too.
            "3008" => Some(RefusalKind::CascadeDepth),
            "1296" if error_text(error).contains("Got error 193 ") => {
                Some(RefusalKind::CascadeDepth)
            }
            _ => None,
        }
    }

    /// InnoDB locks the rows it reads with `FOR UPDATE` (an aggregate may carry it); a locking
    /// read sees the latest committed rows whatever the isolation level.
    fn lock_for_delete(&self, from_where: &str) -> Option<String> {
        Some(format!("SELECT COUNT(*) {from_where} FOR UPDATE"))
    }

    /// `LOCK IN SHARE MODE`: the shared lock InnoDB's own FK check takes on a parent row.
    fn lock_against_delete(&self, from_where: &str) -> String {
        format!("SELECT COUNT(*) {from_where} LOCK IN SHARE MODE")
    }

    fn refusing_depth(&self) -> Option<u32> {
        Some(15)
    }

    /// Under REPEATABLE READ, InnoDB's `INSERT ... SELECT` reads the latest committed rows
    /// (with shared locks) while plain `SELECT`s read the transaction's snapshot, so the two
    /// can disagree; under SERIALIZABLE every read is a locking read of the same state.
    /// (Transaction characteristics cannot change once it runs, so no read-only switch.)
    fn consistent_read_isolation(&self) -> Option<sea_orm::IsolationLevel> {
        Some(sea_orm::IsolationLevel::Serializable)
    }
}
