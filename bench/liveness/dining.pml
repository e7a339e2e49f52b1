/* Dining philosophers without a resource order, N = 3, as models/classic/dining.spec
   (bench/liveness.py). */
#define N 3
bool fork[N];

active [N] proctype Phil() {
  byte i = _pid;
left:  atomic { fork[i] == false -> fork[i] = true };
right: atomic { fork[(i + 1) % N] == false -> fork[(i + 1) % N] = true };
eat:   skip;
put:   atomic { fork[i] = false; fork[(i + 1) % N] = false };
       goto left
}

ltl phil0_eats { [] <> (Phil[0]@eat) }
