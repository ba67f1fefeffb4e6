/** The Kinesis HTTP API's default port. Its own module so the CLI reads it without loading the server. */
export const DEFAULT_KINESIS_PORT = 4568;
