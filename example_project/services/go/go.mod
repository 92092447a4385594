// The versions the example is built and tested with (Debian's golang-github-gin-gonic-gin-dev and
// golang-github-golang-jwt-jwt-dev). Outside the repository's offline GOPATH build, `go mod tidy`
// fetches them and writes go.sum.
module example.com/mesh/whoami

go 1.19

require (
	github.com/gin-gonic/gin v1.8.1
	github.com/golang-jwt/jwt/v4 v4.4.3
)
