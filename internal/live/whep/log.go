package whep

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/pion/logging"
)

// pionLogs hands pion's logs to slog. pion warns about conditions that are
// routine on a server (a viewer's candidate that does not answer, a mux on
// an unspecified address), so its warnings are debug lines here and its
// errors are warnings; its trace output is dropped.
type pionLogs struct{ log *slog.Logger }

// NewLogger implements logging.LoggerFactory.
func (p pionLogs) NewLogger(scope string) logging.LeveledLogger {
	return pionLogger{p.log.With("pion", scope)}
}

type pionLogger struct{ log *slog.Logger }

func (l pionLogger) logf(level slog.Level, format string, args []any) {
	if l.log.Enabled(context.Background(), level) {
		l.log.Log(context.Background(), level, fmt.Sprintf(format, args...))
	}
}

func (l pionLogger) Trace(string)                 {}
func (l pionLogger) Tracef(string, ...any)        {}
func (l pionLogger) Debug(msg string)             { l.log.Debug(msg) }
func (l pionLogger) Debugf(f string, args ...any) { l.logf(slog.LevelDebug, f, args) }
func (l pionLogger) Info(msg string)              { l.log.Debug(msg) }
func (l pionLogger) Infof(f string, args ...any)  { l.logf(slog.LevelDebug, f, args) }
func (l pionLogger) Warn(msg string)              { l.log.Debug(msg) }
func (l pionLogger) Warnf(f string, args ...any)  { l.logf(slog.LevelDebug, f, args) }
func (l pionLogger) Error(msg string)             { l.log.Warn(msg) }
func (l pionLogger) Errorf(f string, args ...any) { l.logf(slog.LevelWarn, f, args) }
