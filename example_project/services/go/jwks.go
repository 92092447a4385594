// The mesh's asymmetric mode: verification keys from the issuer's JWKS (NEXTAUTH_JWKS_URL), so this
// service holds nothing that could mint a token.
//
// Keys are fetched with a timeout and a size limit, cached for five minutes, and refetched on an
// unknown kid at most once per 30 s (a flood of random kids costs the issuer one request). Each key
// verifies under the one algorithm its type gives (Ed25519: EdDSA, P-256: ES256, RSA: RS256): the
// token's alg must name it, never choose it. A set carrying private key material is refused.
package main

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v4"
)

const (
	jwksTTL             = 5 * time.Minute
	jwksRefreshInterval = 30 * time.Second
	jwksMaxBytes        = 64 * 1024
)

var errKeysUnavailable = refusal{"keys_unavailable", "Token verification keys are unavailable."}

type jwksKey struct {
	method jwt.SigningMethod
	key    interface{}
}

// JWKS caches the verification keys of one URL.
type JWKS struct {
	URL    string
	client *http.Client

	mu          sync.Mutex
	keys        map[string][]jwksKey
	fetchedAt   time.Time
	lastAttempt time.Time
}

func NewJWKS(url string) *JWKS {
	return &JWKS{
		URL: url,
		client: &http.Client{
			Timeout: 5 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return errors.New("a JWKS URL does not redirect")
			},
		},
	}
}

// KeyFunc is golang-jwt's key function: the key for the token's kid whose method is the token's.
func (j *JWKS) KeyFunc(t *jwt.Token) (interface{}, error) {
	kid, ok := t.Header["kid"].(string)
	if _, present := t.Header["kid"]; present && !ok {
		return nil, errUnsupported
	}
	candidates, err := j.lookup(kid)
	if err != nil {
		return nil, err
	}
	for _, candidate := range candidates {
		if candidate.method == t.Method {
			return candidate.key, nil
		}
	}
	return nil, errInvalid
}

func (j *JWKS) lookup(kid string) ([]jwksKey, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	now := time.Now()
	expired := j.keys == nil || now.Sub(j.fetchedAt) >= jwksTTL
	_, known := j.keys[kid]
	if (expired || !known) && now.Sub(j.lastAttempt) >= jwksRefreshInterval {
		j.lastAttempt = now
		if keys, err := j.fetch(); err == nil {
			j.keys, j.fetchedAt = keys, now
		}
	}
	if j.keys == nil {
		return nil, errKeysUnavailable
	}
	return j.keys[kid], nil
}

func (j *JWKS) fetch() (map[string][]jwksKey, error) {
	response, err := j.client.Get(j.URL)
	if err != nil {
		return nil, err
	}
	defer response.Body.Close()
	if response.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("JWKS answered %d", response.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(response.Body, jwksMaxBytes+1))
	if err != nil || len(body) > jwksMaxBytes {
		return nil, errors.New("JWKS too large or unreadable")
	}
	var set struct {
		Keys []map[string]interface{} `json:"keys"`
	}
	if err := json.Unmarshal(body, &set); err != nil || set.Keys == nil {
		return nil, errors.New("not a JWK Set")
	}
	keys := map[string][]jwksKey{}
	for _, jwk := range set.Keys {
		for _, private := range []string{"d", "p", "q", "dp", "dq", "qi", "oth", "k"} {
			if _, found := jwk[private]; found {
				return nil, errors.New("the JWK Set holds private key material")
			}
		}
		kid, _ := jwk["kid"].(string)
		if key, err := parseJWK(jwk); err == nil {
			keys[kid] = append(keys[kid], key)
		}
	}
	return keys, nil
}

func member(jwk map[string]interface{}, name string) ([]byte, error) {
	text, ok := jwk[name].(string)
	if !ok {
		return nil, fmt.Errorf("missing %s", name)
	}
	return base64.RawURLEncoding.Strict().DecodeString(text)
}

func parseJWK(jwk map[string]interface{}) (jwksKey, error) {
	if use, ok := jwk["use"]; ok && use != "sig" {
		return jwksKey{}, errors.New("not a signature key")
	}
	var key jwksKey
	switch {
	case jwk["kty"] == "OKP" && jwk["crv"] == "Ed25519":
		x, err := member(jwk, "x")
		if err != nil || len(x) != ed25519.PublicKeySize {
			return key, errors.New("bad Ed25519 key")
		}
		key = jwksKey{jwt.SigningMethodEdDSA, ed25519.PublicKey(x)}
	case jwk["kty"] == "EC" && jwk["crv"] == "P-256":
		x, errX := member(jwk, "x")
		y, errY := member(jwk, "y")
		if errX != nil || errY != nil || len(x) != 32 || len(y) != 32 {
			return key, errors.New("bad P-256 key")
		}
		public := &ecdsa.PublicKey{Curve: elliptic.P256(), X: new(big.Int).SetBytes(x), Y: new(big.Int).SetBytes(y)}
		if !public.Curve.IsOnCurve(public.X, public.Y) {
			return key, errors.New("point not on P-256")
		}
		key = jwksKey{jwt.SigningMethodES256, public}
	case jwk["kty"] == "RSA":
		n, errN := member(jwk, "n")
		e, errE := member(jwk, "e")
		if errN != nil || errE != nil || len(n) < 256 || len(e) > 4 {
			return key, errors.New("bad RSA key")
		}
		key = jwksKey{jwt.SigningMethodRS256, &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}}
	default:
		return key, errors.New("unsupported key type")
	}
	if alg, ok := jwk["alg"]; ok && alg != key.method.Alg() {
		return jwksKey{}, errors.New("alg does not match the key type")
	}
	return key, nil
}
