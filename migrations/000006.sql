-- 000006: reserved for another change in flight (branch h-disk needs 000007 to apply in order).
-- The merge replaces this file with the real 000006; it does nothing.
SELECT 1;
