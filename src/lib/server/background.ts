// Modules with background work register themselves with startup.onStart when imported here.
export {};
