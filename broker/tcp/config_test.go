package tcp

import (
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/sessionlab/sessionlab/broker"
)

func TestConfigDefaults(t *testing.T) {
	policy, err := broker.Profile("mosquitto")
	if err != nil {
		t.Fatal(err)
	}
	small := policy
	small.MaxPacketSize = 1000
	tests := []struct {
		name              string
		cfg               Config
		wantErr           string
		wantMaxPacketSize int
	}{
		{"zero values take defaults", Config{Broker: broker.Config{Policy: policy}}, "", DefaultMaxPacketSize},
		{"smaller policy limit wins", Config{Broker: broker.Config{Policy: small}}, "", 1000},
		{"smaller server limit wins", Config{Broker: broker.Config{Policy: small}, MaxPacketSize: 500}, "", 500},
		{"negative connections", Config{MaxConnections: -1}, "Config.MaxConnections is negative", 0},
		{"negative timeout", Config{ConnectTimeout: -time.Second}, "Config.ConnectTimeout is negative", 0},
		{"negative buffer", Config{WriteBuffer: -1}, "Config.WriteBuffer is negative", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.cfg.withDefaults()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.MaxPacketSize != tt.wantMaxPacketSize || got.ConnectTimeout != DefaultConnectTimeout ||
				got.WriteBuffer != DefaultWriteBuffer || got.MaxConnections != DefaultMaxConnections || got.Logger == nil {
				t.Errorf("withDefaults = %+v, want defaults with MaxPacketSize %d", got, tt.wantMaxPacketSize)
			}
		})
	}
}

func TestNewRejectsInvalidPolicy(t *testing.T) {
	if _, err := New(Config{}); err == nil {
		t.Error("New with a zero policy succeeded, want the core's validation error")
	}
}

func TestServeAfterClose(t *testing.T) {
	s, _, _ := startServer(t, Config{})
	s.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Serve(ln); !errors.Is(err, ErrClosed) {
		t.Errorf("Serve after Close = %v, want ErrClosed", err)
	}
	if _, err := net.Dial("tcp", ln.Addr().String()); err == nil {
		t.Error("the listener given to Serve after Close still accepts")
	}
}
