module scalingo-db-polyglot/go

go 1.26

// The compiler the flow is built with; run.sh refuses any other (GOTOOLCHAIN=local: none is fetched).
toolchain go1.26.8

// The client that run.sh generates from openapi.yaml into $POLYGLOT_WORK/client. It has no
// dependency of its own, so go.sum stays empty: no module is downloaded (run.sh sets GOPROXY=off).
require generated.invalid/scalingo-db/dbapi v0.0.0

replace generated.invalid/scalingo-db/dbapi => ../../../target/polyglot/go/client
