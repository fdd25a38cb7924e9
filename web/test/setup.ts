// IndexedDB for the outbox in tests (happy-dom has none).
import 'fake-indexeddb/auto';
