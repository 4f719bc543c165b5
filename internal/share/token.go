// Package share is guest share links: a link to one media file or one
// organizer folder that people without an account open at /s/<token>/,
// give a name (and the passphrase, if the link has one), and then watch,
// comment on or download what it grants until it expires or is revoked.
//
// The package owns the links' secrets (tokens.go: random tokens stored as
// hashes; passphrase.go: argon2id; limit.go: rate limits on wrong
// passphrases), the owners' API at /api/shares (owner.go, behind the
// proxy's authentication like the rest of the app) and everything under
// /s/ (guest.go: the page, its API, its websocket and its media files,
// which the proxy lets through without authentication). What a guest may
// do is access's (access.Guest); their websocket sessions are review's
// (Hub.ServeGuest).
package share

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
)

// A token is the link's public id followed by its secret, both base64url
// without padding: 12 + 24 characters, 72 + 144 random bits. The id is
// the row's key (so a lookup never compares secrets in SQL); only the
// secret's SHA-256 is stored, and compared in constant time.
const (
	idBytes     = 9
	secretBytes = 18
	idLen       = 12 // base64 of idBytes
	secretLen   = 24 // base64 of secretBytes
	// TokenLen is the length of a token.
	TokenLen = idLen + secretLen
)

var b64 = base64.RawURLEncoding

// Token is a link's (or a guest's) id and secret.
type Token struct{ ID, Secret string }

// String is the token as it appears in the link.
func (t Token) String() string { return t.ID + t.Secret }

// newToken makes a random token.
func newToken() (Token, error) {
	b := make([]byte, idBytes+secretBytes)
	if _, err := rand.Read(b); err != nil {
		return Token{}, fmt.Errorf("random token: %w", err)
	}
	return Token{ID: b64.EncodeToString(b[:idBytes]), Secret: b64.EncodeToString(b[idBytes:])}, nil
}

// ErrMalformed is a token that cannot be one of ours (wrong length or
// characters): a link copied in part, or made up.
var ErrMalformed = errors.New("this is not a share link: the part after /s/ must be 36 letters, digits, '-' or '_'; check that the whole link was copied")

// parseToken splits a token; it checks the form only.
func parseToken(s string) (Token, error) {
	if len(s) != TokenLen {
		return Token{}, ErrMalformed
	}
	if _, err := b64.DecodeString(s); err != nil {
		return Token{}, ErrMalformed
	}
	// Both halves must decode alone too (no stray bits at the seam).
	if _, err := b64.Strict().DecodeString(s[:idLen]); err != nil {
		return Token{}, ErrMalformed
	}
	if _, err := b64.Strict().DecodeString(s[idLen:]); err != nil {
		return Token{}, ErrMalformed
	}
	return Token{ID: s[:idLen], Secret: s[idLen:]}, nil
}

// hashSecret is what is stored for a secret: hex SHA-256. The secrets
// have 144 random bits, so a fast hash is enough (no dictionary to try).
func hashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// secretMatches compares a secret with a stored hash in constant time.
func secretMatches(secret, stored string) bool {
	want, err := hex.DecodeString(stored)
	if err != nil || len(want) != sha256.Size {
		return false
	}
	got := sha256.Sum256([]byte(secret))
	return subtle.ConstantTimeCompare(got[:], want) == 1
}
