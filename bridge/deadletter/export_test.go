package deadletter

// SetAfterPublish installs the replay hook that runs between a publish ack
// and the removal of the dead letter; fn returning false simulates a crash.
func SetAfterPublish(s *Store, fn func(seq uint64) bool) { s.afterPublish = fn }
