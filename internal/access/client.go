package access

import "context"

type clientKey struct{}

// WithClient returns ctx carrying the network address of the client a
// request came from, which the Gate writes into its decisions.
func WithClient(ctx context.Context, addr string) context.Context {
	return context.WithValue(ctx, clientKey{}, addr)
}

// ClientFrom returns the client address WithClient put in ctx, or "".
func ClientFrom(ctx context.Context) string {
	addr, _ := ctx.Value(clientKey{}).(string)
	return addr
}
