module scalingo-db/scripts/go-scalingo

go 1.25.0

require github.com/Scalingo/go-scalingo/v11 v11.3.0
