/** One numbered schema step. SQL may use the dialect tokens {{BLOB}} and {{AUTO_ID}} (sql/driver.ts). */
export interface Migration {
  /** 1, 2, 3, ... applied in order; recorded in schema_migrations. */
  version: number;
  /** Short name (kebab-case), for logs. */
  name: string;
  /** Creates this step's objects. */
  up: string;
  /** Drops exactly what up created, in reverse order. */
  down: string;
}
