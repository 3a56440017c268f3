package payment

import "go.temporal.io/sdk/workflow"

// From code path 24 the run notes, on each admin command that comes without a decision number (the
// Temporal UI's admin signal), what the run asked when it came, and takes it only for that: a
// signal waits in the run's channel while the run is busy (a payout, a save), and the run reads it
// at its next wait, which may ask another decision than the admin saw. The workflow code receives
// signals only where it looks, so the run looks (intake) before each change of what it asks (a
// wait's start and end, a decision asked or answered, a save that shows admins another decision),
// and as signals come while it waits: what it asks when it looks is what it asked when they came.

// arrival is what the run was doing when an admin command without a number came (AdminCommand.came).
type arrival int

const (
	// cameNoted: the command carries its own basis (the API's number, a resolve's key), or the run
	// is on a code path before 24.
	cameNoted arrival = iota
	// cameAsked: the run waited for a decision, or had asked one (saved it) and had no answer to
	// it yet; the command is taken as made on the payment's decision as last saved.
	cameAsked
	// cameResting: the run waited for no decision (its settle window, its capture).
	cameResting
	// cameBusy: the run asked no decision (it paid the legs, or acted on a decision it took).
	cameBusy
)

// notedSize bounds the commands noted and not yet read; a run takes one per decision.
const notedSize = 1 << 16

// listenToAdmins gives a run of code path 24 the channel its waits read admin commands from,
// filled by intake from the signal channel.
func (r *run) listenToAdmins(ctx workflow.Context) {
	r.admin = workflow.GetSignalChannel(ctx, SignalAdmin)
	if r.in.CodePath < codePathUIDecision {
		return
	}
	r.signals = r.admin
	r.noted = workflow.NewNamedBufferedChannel(ctx, SignalAdmin, notedSize)
	r.admin = r.noted
}

// intake moves the admin signals come since the run last looked into r.admin (code path 24), and
// gives each retry, cancel or release without a number what the run asks now (arrival): asked, the
// payment's decision as last saved, which the admin read, checked as the API's is.
func (r *run) intake() {
	if r.signals == nil {
		return
	}
	came := r.arrivalNow()
	for {
		var cmd AdminCommand
		if !r.signals.ReceiveAsync(&cmd) {
			return // none left; one that did not decode was dropped (the SDK logs it)
		}
		if !cmd.checked() && cmd.Action != ActionResolve && cmd.Action.known() {
			cmd.came = came
			if came == cameAsked {
				cmd.Decision, cmd.Checked = r.savedDecision, true
			}
		}
		if !r.noted.SendAsync(cmd) {
			r.log.Warn("admin command ignored: too many not read yet", "Action", cmd.Action, "Actor", cmd.Actor)
		}
	}
}

// arrivalNow is what the run asks now, for a command that comes now.
func (r *run) arrivalNow() arrival {
	switch {
	case r.waiting && !r.waitingAdmin:
		return cameResting
	case r.waiting || r.unanswered:
		return cameAsked
	}
	return cameBusy
}

// startWaiting notes the commands that came while the run was busy, and that it waits now: for a
// decision when wantAdmin (the one it saved, asked from now on).
func (r *run) startWaiting(wantAdmin bool) {
	r.intake()
	r.waiting, r.waitingAdmin = true, wantAdmin
	if wantAdmin {
		r.unanswered = true
	}
}

// stopWaiting notes the commands that came while the run waited and that it did not read (an
// event or the timer ended the wait), then that it is busy.
func (r *run) stopWaiting() {
	r.intake()
	r.waiting, r.waitingAdmin = false, false
}

// answered says the decision the run asked has its answer (an admin's command, taken; a refund
// that left nothing to decide; no leg held any more): a command that comes next, until the run
// asks again, was made on nothing it asks.
func (r *run) answered() {
	r.intake()
	r.unanswered = false
}

// commandsToTake is how many admin commands come so far the run takes as it waits for a decision
// now. From code path 24 it first drops those it would drop at that wait (madeOnAnother), saying
// so in the reason: awaitReleases does not ask about the held legs while a command waits (it could
// pay a leg the admin cancelled), and one dropped at the wait left a payee who can receive waiting
// for the next ask, or, with asks off, for an admin.
func (r *run) commandsToTake() int {
	if r.noted == nil {
		return r.admin.Len()
	}
	r.intake()
	var drop []AdminCommand
	for n := r.noted.Len(); n > 0; n-- {
		var cmd AdminCommand
		r.noted.ReceiveAsync(&cmd)
		if cmd.Action.known() && r.madeOnAnother(cmd) {
			drop = append(drop, cmd)
			continue
		}
		r.noted.SendAsync(cmd) // back in the order they came: the channel held n, all taken
	}
	for _, cmd := range drop {
		r.dropStale(cmd, true)
	}
	return r.noted.Len()
}

// dropUnread says, as the run closes (code path 24), that the admin commands it noted and no wait
// read were not taken: a retry or cancel in the payment's reason (the last one's; each would
// replace the note before it), saved, as a wait that reads one says it; the others in the log. A
// run without a wait after the commands came (no settle window; a payment compensated, or
// cancelled) closed with them in its own channel, where the SDK, which logs a signal left unread,
// no longer sees them. saved says the reason was saved.
func (r *run) dropUnread() (saved bool) {
	if r.noted == nil {
		return false
	}
	r.intake()
	var unread []AdminCommand
	if r.deferredAdmin != nil {
		unread, r.deferredAdmin = append(unread, *r.deferredAdmin), nil
	}
	for {
		var cmd AdminCommand
		if !r.noted.ReceiveAsync(&cmd) {
			break
		}
		unread = append(unread, cmd)
	}
	var said *AdminCommand
	for i, cmd := range unread {
		if cmd.Action == ActionRetry || cmd.Action == ActionCancel {
			said = &unread[i]
			continue
		}
		r.log.Warn("admin command ignored: the run closes", "Action", cmd.Action, "Party", cmd.Party, "Actor", cmd.Actor)
	}
	if said == nil {
		return false
	}
	r.dropStale(*said, false)
	return true
}
