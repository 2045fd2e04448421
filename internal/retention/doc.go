// Package retention deletes recorded segments that argus may no longer keep
// and must not keep: those past their camera's retention in days, those over
// a camera's or an organisation's byte quota, and the oldest ones when the
// recordings' disk falls below its free-space floor. Segments that overlap
// an active evidence hold are never deleted, by any rule, and a segment
// still being written is never touched. docs/retention.md describes the
// rules, their order and their cost.
package retention
