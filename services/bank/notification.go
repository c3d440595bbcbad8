package bank

import (
	"bytes"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"sync/atomic"
	"text/template"
)

// The notification service renders a message for every locale variant before
// queueing the one the customer reads (so that the audit log holds them all).
// Rendering with text/template plus string-built footers allocates heavily:
// the notification.template hot spot, visible in the allocation profile.

var locales = []string{"en", "de", "fr", "es"}

var templateText = map[string]map[string]string{
	"transfer_sent": {
		"en": "Hello {{.name}}, you sent {{.amount}} {{.currency}} to {{.to}}.{{range $k, $v := .}} [{{$k}}={{$v}}]{{end}}",
		"de": "Hallo {{.name}}, Sie haben {{.amount}} {{.currency}} an {{.to}} gesendet.{{range $k, $v := .}} [{{$k}}={{$v}}]{{end}}",
		"fr": "Bonjour {{.name}}, vous avez envoyé {{.amount}} {{.currency}} à {{.to}}.{{range $k, $v := .}} [{{$k}}={{$v}}]{{end}}",
		"es": "Hola {{.name}}, enviaste {{.amount}} {{.currency}} a {{.to}}.{{range $k, $v := .}} [{{$k}}={{$v}}]{{end}}",
	},
	"transfer_received": {
		"en": "Hello {{.name}}, you received {{.amount}} {{.currency}} from {{.from}}.",
		"de": "Hallo {{.name}}, Sie haben {{.amount}} {{.currency}} von {{.from}} erhalten.",
		"fr": "Bonjour {{.name}}, vous avez reçu {{.amount}} {{.currency}} de {{.from}}.",
		"es": "Hola {{.name}}, recibiste {{.amount}} {{.currency}} de {{.from}}.",
	},
	"order_confirmed": {
		"en": "Order {{.order_id}} confirmed: {{.total}} {{.currency}}. Thank you, {{.name}}!",
		"de": "Bestellung {{.order_id}} bestätigt: {{.total}} {{.currency}}. Danke, {{.name}}!",
		"fr": "Commande {{.order_id}} confirmée : {{.total}} {{.currency}}. Merci, {{.name}} !",
		"es": "Pedido {{.order_id}} confirmado: {{.total}} {{.currency}}. ¡Gracias, {{.name}}!",
	},
	"loan_quote": {
		"en": "{{.name}}, your loan quote: {{.monthly_payment}} per month for {{.term_months}} months.",
		"de": "{{.name}}, Ihr Kreditangebot: {{.monthly_payment}} pro Monat für {{.term_months}} Monate.",
		"fr": "{{.name}}, votre offre de prêt : {{.monthly_payment}} par mois pendant {{.term_months}} mois.",
		"es": "{{.name}}, su cotización: {{.monthly_payment}} al mes durante {{.term_months}} meses.",
	},
	"low_balance": {
		"en": "{{.name}}, your balance is low: {{.balance}} {{.currency}}.",
		"de": "{{.name}}, Ihr Kontostand ist niedrig: {{.balance}} {{.currency}}.",
		"fr": "{{.name}}, votre solde est bas : {{.balance}} {{.currency}}.",
		"es": "{{.name}}, su saldo es bajo: {{.balance}} {{.currency}}.",
	},
}

// templates are parsed once (parsing is not the hot spot; rendering is).
var templates = func() map[string]map[string]*template.Template {
	out := map[string]map[string]*template.Template{}
	for name, byLocale := range templateText {
		out[name] = map[string]*template.Template{}
		for loc, text := range byLocale {
			out[name][loc] = template.Must(template.New(name + "." + loc).Option("missingkey=zero").Parse(text))
		}
	}
	return out
}()

var channels = map[string]int{"email": 4000, "sms": 320, "push": 240} // max body length

// renderNotification is the notification.template hot spot: it renders the
// template for every locale into fresh buffers, builds each footer and HTML
// part by string concatenation, and returns the text for the requested locale.
// Injection scales the number of renderings.
//
//go:noinline
func renderNotification(tmpl string, locale string, params map[string]string, ws *workScale) (text, html string, err error) {
	byLocale := templates[tmpl]
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	n := ws.units(len(locales))
	for i := 0; i < n; i++ {
		loc := locales[i%len(locales)]
		var buf bytes.Buffer
		if err := byLocale[loc].Execute(&buf, params); err != nil {
			return "", "", err
		}
		footer := ""
		for _, k := range keys {
			footer += "\n" + strings.ToUpper(k[:1]) + k[1:] + ": " + params[k]
		}
		footer += "\n-- " + strings.ToUpper(loc) + " | Bank of profdiff | unsubscribe: settings/notifications"
		msg := buf.String() + footer
		// The HTML part of the e-mail: escaped and wrapped line by line.
		page := "<html><body>"
		for _, line := range strings.Split(msg, "\n") {
			page += "<p>" + template.HTMLEscapeString(line) + "</p>"
		}
		page += "</body></html>"
		if loc == locale && text == "" {
			text, html = msg, page
		}
	}
	return text, html, nil
}

type notificationRequest struct {
	AccountID string            `json:"account_id"`
	Channel   string            `json:"channel"`
	Template  string            `json:"template"`
	Locale    string            `json:"locale"`
	Params    map[string]string `json:"params"`
}

type notificationResponse struct {
	ID       string `json:"notification_id"`
	Status   string `json:"status"`
	Channel  string `json:"channel"`
	Locale   string `json:"locale"`
	Template string `json:"template"`
	Body     string `json:"body"`
	HTML     string `json:"html,omitempty"`
}

var paramKey = regexp.MustCompile(`^[a-z][a-z0-9_]{0,31}$`)

var notificationSeq atomic.Int64

// A notification sent under an idempotency key (the gateway sends one per
// transfer) is sent once: a repeat with the key gets the first one back,
// for as long as the key is remembered — the last notificationsKept keys,
// within notificationBytesKept of kept answers (an e-mail's HTML grows
// with its parameters, up to about 10 KiB), oldest forgotten first.
const (
	notificationsKept     = 20000
	notificationBytesKept = 16 << 20
)

// notificationSize approximates the memory a kept notification holds.
func notificationSize(n notificationResponse) int64 {
	return int64(len(n.ID)+len(n.Status)+len(n.Channel)+len(n.Locale)+len(n.Template)+len(n.Body)+len(n.HTML)) + 128
}

func (s *Server) registerNotification() {
	s.notificationKeys = newKeyedResultsSized(notificationsKept, notificationBytesKept, notificationSize)
	s.mux.Handle("POST /notifications", handle(s.notify))
}

func (s *Server) notify(w http.ResponseWriter, r *http.Request) error {
	var req notificationRequest
	if err := decodeJSON(w, r, s.cfg.MaxBodyBytes, &req); err != nil {
		return err
	}
	if err := checkID("account_id", req.AccountID); err != nil {
		return err
	}
	maxLen, ok := channels[req.Channel]
	if !ok {
		return errorf(http.StatusBadRequest, "channel %q: want email, sms or push", truncate(req.Channel, 20))
	}
	if _, ok := templates[req.Template]; !ok {
		names := make([]string, 0, len(templates))
		for n := range templates {
			names = append(names, n)
		}
		sort.Strings(names)
		return errorf(http.StatusBadRequest, "template %q: want one of %s", truncate(req.Template, 40), strings.Join(names, ", "))
	}
	if req.Locale == "" {
		req.Locale = "en"
	}
	if _, ok := templates[req.Template][req.Locale]; !ok {
		return errorf(http.StatusBadRequest, "locale %q: want one of %s", truncate(req.Locale, 10), strings.Join(locales, ", "))
	}
	if len(req.Params) > 20 {
		return errorf(http.StatusBadRequest, "params: at most 20 entries, got %d", len(req.Params))
	}
	for k, v := range req.Params {
		if !paramKey.MatchString(k) {
			return errorf(http.StatusBadRequest, "params key %q: want lower-case letters, digits and '_'", truncate(k, 40))
		}
		if len(v) > 256 {
			return errorf(http.StatusBadRequest, "params[%s]: longer than 256 characters", k)
		}
	}
	if req.Params == nil {
		req.Params = map[string]string{}
	}
	if _, ok := req.Params["name"]; !ok {
		req.Params["name"] = "customer"
	}
	key := r.Header.Get(IdempotencyHeader)
	if key != "" {
		if err := checkID(IdempotencyHeader+" header", key); err != nil {
			return err
		}
		n, replay, busy := s.notificationKeys.claim(key)
		switch {
		case busy:
			return errKeyBusy(key)
		case replay:
			writeJSON(w, http.StatusOK, n) // sent before: the same notification, not a second one
			return nil
		}
	}
	body, html, err := renderNotification(req.Template, req.Locale, req.Params, s.ws("notification.template"))
	if err != nil {
		if key != "" {
			s.notificationKeys.release(key)
		}
		return errorf(http.StatusBadRequest, "rendering %s: %v", req.Template, err)
	}
	if len(body) > maxLen {
		body = strings.ToValidUTF8(body[:maxLen], "")
	}
	if req.Channel != "email" {
		html = ""
	}
	n := notificationResponse{
		ID: fmt.Sprintf("ntf-%08d", notificationSeq.Add(1)), Status: "queued", Channel: req.Channel,
		Locale: req.Locale, Template: req.Template, Body: body, HTML: html,
	}
	if key != "" {
		s.notificationKeys.finish(key, n)
	}
	writeJSON(w, http.StatusAccepted, n)
	return nil
}
