import { onStart } from '../startup';
import { failStaleSnapshots } from './service';

// A snapshot whose request died mid-capture (replica restart) would stay `creating` forever.
onStart(() => {
	const t = setInterval(() => {
		failStaleSnapshots().catch((e) => console.error('stale snapshot sweep failed', e));
	}, 10 * 60_000);
	t.unref();
});
