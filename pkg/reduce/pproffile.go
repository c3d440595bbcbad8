package reduce

import (
	"crypto/sha256"
	"fmt"
	"math"
	"runtime"
	"time"

	"github.com/google/pprof/profile"

	"github.com/profdiff/profdiff/internal/inputfile"
	"github.com/profdiff/profdiff/pkg/baseline"
	"github.com/profdiff/profdiff/pkg/profiletype"
)

// AddProfileFiles reads each pprof file (gzipped or not) and adds it as a
// window of the service's series of each profile type, returning how many
// windows each type got. It changes only snap in memory; errors name the
// file. A file given twice (the same bytes) or a profile whose window
// starts when one already in the series does is refused: it would count
// one time window twice.
//
// Files are read and decoded several at a time (one per GOMAXPROCS) and
// added in order as they are ready, so that at most a few decoded
// profiles are held at once. Profiles are decoded from the protobuf wire
// format directly (see rawProfile), falling back to google/pprof's parser
// for anything else it reads (legacy text profiles), whose errors stand.
// Only regular files are read, within limit decompressed: pprof's own
// parser would inflate a gzip bomb without one.
func AddProfileFiles(snap *baseline.Snapshot, service string, ids []profiletype.ID, files []string, limit inputfile.Limit) (map[string]int, error) {
	return AddProfileFilesDetect(snap, service, ids, files, limit, nil)
}

// AddProfileFilesDetect is AddProfileFiles for a caller that was not told
// the profile types: when ids is empty, detect is called once, with the
// first profile's sample types and period type, and returns them.
func AddProfileFilesDetect(snap *baseline.Snapshot, service string, ids []profiletype.ID, files []string, limit inputfile.Limit,
	detect func(sample []baseline.ValueType, period baseline.ValueType) ([]profiletype.ID, error)) (map[string]int, error) {
	type decoded struct {
		r   *rawProfile
		sum [sha256.Size]byte
		err error
	}
	ready := make([]chan decoded, len(files))
	for i := range ready {
		ready[i] = make(chan decoded, 1)
	}
	// Decoding runs ahead of adding by at most one file per GOMAXPROCS;
	// a file is started only when a slot is free, so an error leaves no
	// more than those running (they finish into their buffered channels).
	slots := make(chan struct{}, max(1, runtime.GOMAXPROCS(0)))
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for i, f := range files {
			select {
			case slots <- struct{}{}:
			case <-stop:
				return
			}
			go func() {
				r, sum, err := readRawFile(f, limit)
				ready[i] <- decoded{r, sum, err}
			}()
		}
	}()
	added := map[string]int{}
	seen := map[[sha256.Size]byte]string{}
	indexes := map[*baseline.Series]*seriesIndex{}
	for i, file := range files {
		d := <-ready[i]
		<-slots
		if d.err != nil {
			return nil, d.err
		}
		p, sum := d.r, d.sum
		if first, ok := seen[sum]; ok {
			return nil, fmt.Errorf("%s: the same profile as %s, given twice; give each time window's profile once", file, first)
		}
		seen[sum] = file
		if len(ids) == 0 && detect != nil {
			var err error
			if ids, err = detect(p.sampleTypes, p.periodType); err != nil {
				return nil, fmt.Errorf("%s: %w", file, err)
			}
		}
		for _, id := range ids {
			se := snap.Lookup(service, id.String())
			if se == nil {
				se = baseline.NewSeries(service, id)
				snap.Put(se)
			}
			if err := checkSums(p, se); err != nil {
				return nil, fmt.Errorf("%s: %w", file, err)
			}
			if p.timeNanos > 0 {
				start := time.Unix(0, p.timeNanos).UTC()
				for _, w := range se.Windows {
					if w.Start.Equal(start) {
						return nil, fmt.Errorf("%s: its window starts at %s, as a window already in the %s %s series does; each profile must cover its own time window", file, start.Format(time.RFC3339Nano), service, id.Alias())
					}
				}
			}
			empty := emptyWindows(se)
			ix := indexes[se]
			if ix == nil {
				ix = newSeriesIndex(se)
				indexes[se] = ix
			}
			if err := addRaw(se, p, WindowOptions{}, nil, ix); err != nil {
				return nil, fmt.Errorf("%s: %w", file, err)
			}
			if emptyWindows(se) > empty {
				return nil, fmt.Errorf("%s: no %s/%s values in the profile (all samples are zero)", file, id.SampleType, id.SampleUnit)
			}
			added[id.Alias()]++
		}
	}
	return added, nil
}

// checkSums refuses a profile whose values of se's sample type, added up
// as AddProfile adds them into the window's total and, over the windows,
// into the series' stacks, pass the int64 maximum: the sums would wrap
// around to nonsense.
func checkSums(p *rawProfile, se *baseline.Series) error {
	idx := p.sampleIndex(se.SampleType)
	if idx < 0 || idx >= p.minValues {
		return nil // AddProfile says what the profile holds instead
	}
	var sum int64
	add := func(v int64) bool {
		if v <= 0 {
			return true // AddProfile reports negative samples
		}
		if sum > math.MaxInt64-v {
			return false
		}
		sum += v
		return true
	}
	for _, w := range se.Windows {
		if !add(w.Total) {
			return fmt.Errorf("the series' earlier windows already sum past the int64 maximum")
		}
	}
	for i := range p.samples {
		if !add(p.value(i, idx)) {
			return fmt.Errorf("its %s values, added to the series' earlier windows, sum past the int64 maximum (%d); the profile's values are corrupt", se.SampleType, int64(math.MaxInt64))
		}
	}
	return nil
}

// ReadProfileFile reads and parses one pprof file (gzipped or not) with
// google/pprof's parser, naming it in every error. It returns the
// decompressed profile's SHA-256, by which a file given twice is known.
// Only regular files are read, within limit decompressed.
func ReadProfileFile(file string, limit inputfile.Limit) (*profile.Profile, [sha256.Size]byte, error) {
	data, sum, err := readProfileData(file, limit)
	if err != nil {
		return nil, sum, err
	}
	p, err := profile.ParseData(data)
	if err != nil {
		return nil, sum, fmt.Errorf("%s: not a readable pprof profile (%v)", file, err)
	}
	if len(p.Sample) == 0 {
		return nil, sum, fmt.Errorf("%s: empty profile (no samples)", file)
	}
	return p, sum, nil
}

// readRawFile is ReadProfileFile by way of the fast decoder.
func readRawFile(file string, limit inputfile.Limit) (*rawProfile, [sha256.Size]byte, error) {
	data, sum, err := readProfileData(file, limit)
	if err != nil {
		return nil, sum, err
	}
	r, err := parseRaw(data)
	if err != nil {
		return nil, sum, fmt.Errorf("%s: not a readable pprof profile (%v)", file, err)
	}
	if len(r.samples) == 0 {
		return nil, sum, fmt.Errorf("%s: empty profile (no samples)", file)
	}
	return r, sum, nil
}

func readProfileData(file string, limit inputfile.Limit) ([]byte, [sha256.Size]byte, error) {
	data, err := inputfile.Read(file, limit, inputfile.Options{Gunzip: true})
	if err != nil {
		return nil, [sha256.Size]byte{}, err
	}
	if len(data) == 0 {
		return nil, [sha256.Size]byte{}, fmt.Errorf("%s: empty file, not a pprof profile", file)
	}
	return data, sha256.Sum256(data), nil
}

func emptyWindows(se *baseline.Series) int {
	n := 0
	for _, w := range se.Windows {
		if w.Total == 0 {
			n++
		}
	}
	return n
}
