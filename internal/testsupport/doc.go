// Package testsupport is the tree of helpers that tests and benchmark
// tools share, and nothing else: testkit (free ports, a synchronised
// buffer), servertest (a whole server on loopback), wsclient (a websocket
// API client), mediatest (media made with ffmpeg's lavfi sources), s3test
// (a real S3-compatible server, SeaweedFS), natstest (a real NATS
// server) and pgtest (a throw-away PostgreSQL server).
// No server or plugin binary links any of it (TestNotInBinaries).
package testsupport
