// A Gin service in the NextAuth mesh: GET /whoami for any holder of a valid session token.
//
// The token is the one NextAuth (with HS256 jwt hooks) or the Django service issues; every
// service verifies it with the same shared secret and the same rules:
// HS256 only, exp required, sub a non-empty string, 15 s leeway, iss / aud exactly as
// configured (when NEXTAUTH_ISSUER / NEXTAUTH_AUDIENCE are set), NEXTAUTH_SECRET signs,
// NEXTAUTH_SECRET_PREVIOUS still verifies during a rotation.
//
// Or, with NEXTAUTH_JWKS_URL instead of a secret (the mesh's asymmetric mode, see jwks.go): tokens
// signed by the issuer's private key, verified with the public keys of its JWKS.
//
// Run with a secret: NEXTAUTH_SECRET=... PORT=8003 go run .
// Run with a JWKS:   NEXTAUTH_JWKS_URL=http://127.0.0.1:8000/.well-known/jwks.json PORT=8003 go run .
package main

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"log"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/golang-jwt/jwt/v4"
)

const leeway = 15 * time.Second

// Claims is the session token's payload: the registered claims plus NextAuth's user fields.
type Claims struct {
	jwt.RegisteredClaims
	Email *string `json:"email,omitempty"`
	Role  *string `json:"role,omitempty"`
}

// refusal is a 401 with one of the error codes the Django service uses.
type refusal struct{ code, detail string }

func (r refusal) Error() string { return r.detail }

var (
	errMissing       = refusal{"token_missing", "Authentication credentials were not provided."}
	errMalformed     = refusal{"token_malformed", "Token is malformed."}
	errUnsupported   = refusal{"token_unsupported", "Token algorithm is not accepted."}
	errJWE           = refusal{"token_unsupported", "Token format is not accepted: this service reads JWS, not JWE."}
	errInvalid       = refusal{"token_invalid", "Token signature is invalid."}
	errExpired       = refusal{"token_expired", "Token has expired."}
	errNotYetValid   = refusal{"token_not_yet_valid", "Token is not valid yet."}
	errClaimsInvalid = refusal{"token_claims_invalid", "Token claims are invalid."}
)

// Verifier checks tokens against the shared secrets: the current one first, then the previous.
type Verifier struct {
	JWKS     *JWKS // when set, the only source of keys: no secret is held
	Secrets  [][]byte
	Issuer   string // "" means not checked
	Audience string // "" means not checked
}

// isJWE reports a compact JWE (five parts, a JSON header): NextAuth's encrypted default, which this
// service does not read. Django answers token_unsupported for a format it does not accept; so does
// this service, instead of calling a well-formed token malformed.
func isJWE(token string) bool {
	parts := strings.Split(token, ".")
	if len(parts) != 5 || parts[0] == "" || parts[2] == "" || parts[3] == "" || parts[4] == "" {
		return false
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		return false
	}
	var header map[string]interface{}
	return json.Unmarshal(raw, &header) == nil && header != nil
}

func (v Verifier) Verify(token string) (*Claims, error) {
	if isJWE(token) {
		return nil, errJWE
	}
	if v.JWKS != nil {
		return v.verifyAsymmetric(token)
	}
	var err error
	for _, secret := range v.Secrets {
		claims := &Claims{}
		keyFunc := func(t *jwt.Token) (interface{}, error) {
			if t.Method != jwt.SigningMethodHS256 { // pinned: never "none", never what the header asks for
				return nil, errUnsupported
			}
			return secret, nil
		}
		// Claims are checked below, after the signature, with the leeway golang-jwt v4 lacks.
		_, err = jwt.ParseWithClaims(token, claims, keyFunc, jwt.WithoutClaimsValidation())
		if err == nil {
			if err := v.check(claims); err != nil {
				return nil, err
			}
			return claims, nil
		}
		// Only a wrong signature means "try the previous secret"; anything else is final.
		if !errors.Is(err, jwt.ErrTokenSignatureInvalid) {
			break
		}
	}
	switch {
	case errors.Is(err, errUnsupported), errors.Is(err, jwt.ErrTokenUnverifiable):
		return nil, errUnsupported
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return nil, errInvalid
	default:
		return nil, errMalformed
	}
}

func (v Verifier) verifyAsymmetric(token string) (*Claims, error) {
	// The token's alg must be one a key type gives before any key is looked up; the key function
	// then insists that the key's method is the token's.
	unverified, _, err := new(jwt.Parser).ParseUnverified(token, &Claims{})
	if err != nil {
		var validation *jwt.ValidationError
		if errors.As(err, &validation) && validation.Errors&jwt.ValidationErrorUnverifiable != 0 {
			return nil, errUnsupported // an algorithm golang-jwt does not know
		}
		return nil, errMalformed
	}
	switch unverified.Method.Alg() {
	case "EdDSA", "ES256", "RS256":
	default:
		return nil, errUnsupported
	}
	claims := &Claims{}
	_, err = jwt.ParseWithClaims(token, claims, v.JWKS.KeyFunc, jwt.WithoutClaimsValidation())
	if err == nil {
		if err := v.check(claims); err != nil {
			return nil, err
		}
		return claims, nil
	}
	var r refusal
	switch {
	case errors.As(err, &r):
		return nil, r
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return nil, errInvalid
	default:
		return nil, errMalformed
	}
}

func (v Verifier) check(c *Claims) error {
	now := time.Now()
	switch {
	case c.ExpiresAt == nil || c.Subject == "":
		return errClaimsInvalid
	case !c.VerifyExpiresAt(now.Add(-leeway), true):
		return errExpired
	case !c.VerifyNotBefore(now.Add(leeway), false), !c.VerifyIssuedAt(now.Add(leeway), false):
		return errNotYetValid
	case v.Issuer != "" && c.Issuer != v.Issuer:
		return errClaimsInvalid
	case v.Audience != "" && !c.VerifyAudience(v.Audience, true):
		return errClaimsInvalid
	}
	return nil
}

// RequireToken is middleware: `Authorization: Bearer <token>` verified, claims in "claims", or a 401.
func RequireToken(v Verifier) gin.HandlerFunc {
	return func(c *gin.Context) {
		claims, err := v.fromRequest(c.Request)
		if err != nil {
			r := err.(refusal)
			challenge := `Bearer realm="api"`
			if r != errMissing {
				challenge += `, error="invalid_token"`
			}
			c.Header("WWW-Authenticate", challenge)
			c.Header("Cache-Control", "no-store")
			c.AbortWithStatusJSON(http.StatusUnauthorized, gin.H{"detail": r.detail, "code": r.code})
			return
		}
		c.Set("claims", claims)
		c.Next()
	}
}

func (v Verifier) fromRequest(r *http.Request) (*Claims, error) {
	fields := strings.Fields(r.Header.Get("Authorization"))
	if len(fields) == 0 || !strings.EqualFold(fields[0], "Bearer") {
		return nil, errMissing
	}
	if len(fields) != 2 {
		return nil, errMalformed
	}
	return v.Verify(fields[1])
}

func main() {
	var secrets [][]byte
	for _, name := range []string{"NEXTAUTH_SECRET", "NEXTAUTH_SECRET_PREVIOUS"} {
		if secret := os.Getenv(name); secret != "" {
			secrets = append(secrets, []byte(secret))
		}
	}
	jwksURL := os.Getenv("NEXTAUTH_JWKS_URL")
	if jwksURL != "" && len(secrets) > 0 {
		log.Fatal("Set NEXTAUTH_SECRET or NEXTAUTH_JWKS_URL, not both")
	}
	if jwksURL == "" && len(secrets) == 0 {
		log.Fatal("NEXTAUTH_SECRET (or NEXTAUTH_JWKS_URL) is required")
	}
	for _, secret := range secrets {
		if len(secret) < 32 || os.Getenv("NEXTAUTH_SECRET") == "" {
			log.Fatal("NEXTAUTH_SECRET (and NEXTAUTH_SECRET_PREVIOUS, if set): at least 32 bytes")
		}
	}
	verifier := Verifier{Secrets: secrets, Issuer: os.Getenv("NEXTAUTH_ISSUER"), Audience: os.Getenv("NEXTAUTH_AUDIENCE")}
	if jwksURL != "" {
		verifier.JWKS = NewJWKS(jwksURL)
	}

	gin.SetMode(gin.ReleaseMode)
	router := gin.New()
	router.Use(gin.Recovery())
	router.GET("/healthz", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"ok": true}) })
	router.GET("/whoami", RequireToken(verifier), func(c *gin.Context) {
		claims := c.MustGet("claims").(*Claims)
		c.JSON(http.StatusOK, gin.H{"service": "go", "sub": claims.Subject, "email": claims.Email, "role": claims.Role})
	})

	addr := envOr("HOST", "127.0.0.1") + ":" + envOr("PORT", "8003")
	log.Printf("go whoami on http://%s/whoami", addr)
	log.Fatal(router.Run(addr))
}

func envOr(name, fallback string) string {
	if value := os.Getenv(name); value != "" {
		return value
	}
	return fallback
}
