import type { Connection, Model, Schema } from "mongoose";

/**
 * Models live on the app's own connection (connectDatabase's createConnection), never on mongoose's
 * global default, so two apps — or a test and the server — never share state by accident.
 */
export function bindModel<T>(connection: Connection, name: string, schema: Schema<T>): Model<T> {
  return (connection.models[name] as Model<T> | undefined) ?? connection.model<T>(name, schema);
}
