// Package auth reads Mosquitto's password and ACL files and answers the
// broker core's access questions: Passwords is a broker.Authenticator for a
// file written by mosquitto_passwd, ACL is a broker.Authorizer for an
// acl_file, and Owners keeps a persistent session bound to the user that
// created it.
//
// The formats follow mosquitto.conf(5) (password_file, acl_file) and
// mosquitto_passwd(1) of Mosquitto 2.0, so files written for Mosquitto work
// unchanged. Where sessionlab's behaviour differs from Mosquitto's, the type's
// comment says so.
package auth
